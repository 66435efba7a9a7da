package loadgen

import (
	"runtime"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime …
	stat := "4242 (sally port) (x)) S 1 4242 4242 0 -1 4194560 9000 0 3 0 1234 567 8 9 20 0 12 0 100 0 0\n"
	got, err := parseStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 18010 * time.Millisecond; got != want { // (1234+567) / 100 s
		t.Errorf("parseStat = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "4242 (x S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 9000 0 3 0 a 567 8"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/stat is Linux's")
	}
	if _, err := ProcessCPU(0); err != nil {
		t.Fatal(err)
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 20 30 400 50 6 4 10 0 0\ncpu0 50 10 15 200 25 3 2 5 0 0\n"
	busy, total, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	// busy = user+nice+system+irq+softirq+steal = 170 ticks; total 620.
	if busy != 1700*time.Millisecond || total != 6200*time.Millisecond {
		t.Errorf("parseProcStat = %v, %v; want 1.7s, 6.2s", busy, total)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6 7 8\n"} {
		if _, _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}

func TestMachineAndCommandCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	busy, total, err := MachineCPU()
	if err != nil || busy <= 0 || total < busy {
		t.Fatalf("MachineCPU = %v, %v, %v", busy, total, err)
	}
	if _, err := CommandCPU("no-such-command-here"); err != nil {
		t.Fatal(err)
	}
}
