package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. Linux fixes
// USER_HZ at 100 on every architecture Go supports, so it is a constant
// here rather than a sysconf(_SC_CLK_TCK) call needing cgo.
const userHZ = 100

// ProcessCPU returns the CPU time (user + system) a process has used so
// far, from /proc/<pid>/stat, to a hundredth of a second; pid 0 is this
// process. Linux only.
func ProcessCPU(pid int) (time.Duration, error) {
	name := "/proc/self/stat"
	if pid != 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("loadgen: process CPU: %w", err)
	}
	return parseStat(b)
}

// parseStat reads utime and stime, fields 14 and 15 of proc(5)'s stat.
// The command name (field 2) is in parentheses and may contain spaces
// and parentheses, so the fields are counted from its last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: process CPU: malformed stat")
	}
	fields := bytes.Fields(b[i+1:]) // fields[0] is field 3, state
	if len(fields) < 13 {
		return 0, fmt.Errorf("loadgen: process CPU: malformed stat")
	}
	var ticks int64
	for _, f := range fields[11:13] { // fields 14 and 15
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: process CPU: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// CommandCPU returns the CPU time used so far by every running process
// whose command name (proc(5)'s comm) is name, such as the PostgreSQL
// server's processes. Processes that end between two calls take their
// time with them, so compare calls only across processes that stay (a
// database's backends behind a connection pool do). Linux only.
func CommandCPU(name string) (time.Duration, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("loadgen: process CPU: %w", err)
	}
	var total time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // it ended since the listing
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || string(b[open+1:end]) != name {
			continue
		}
		if cpu, err := parseStat(b); err == nil {
			total += cpu
		}
	}
	return total, nil
}

// MachineCPU returns the time all CPUs have spent busy (everything but
// idle and iowait) and in all since boot, from /proc/stat: the difference
// of two calls tells how loaded the machine was in between, by anyone.
// Linux only.
func MachineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("loadgen: machine CPU: %w", err)
	}
	return parseProcStat(b)
}

// parseProcStat reads the first line of /proc/stat: "cpu" then user nice
// system idle iowait irq softirq steal …, in USER_HZ. guest times are
// already inside user and nice, so only the first eight count.
func parseProcStat(b []byte) (busy, total time.Duration, err error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return 0, 0, fmt.Errorf("loadgen: machine CPU: malformed /proc/stat")
	}
	var ticks [8]int64
	for i := range ticks {
		if ticks[i], err = strconv.ParseInt(string(fields[i+1]), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("loadgen: machine CPU: %w", err)
		}
	}
	var all int64
	for _, t := range ticks {
		all += t
	}
	idle := ticks[3] + ticks[4]
	tick := time.Second / userHZ
	return time.Duration(all-idle) * tick, time.Duration(all) * tick, nil
}
