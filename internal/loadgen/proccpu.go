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
