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
