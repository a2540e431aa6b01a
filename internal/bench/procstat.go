package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// ErrNoProcess is returned when /proc has no entry for the process.
var ErrNoProcess = errors.New("bench: no such process")

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It is 100
// on every Linux architecture Go supports (the kernel fixes USER_HZ for the
// ABI, whatever CONFIG_HZ is), so no sysconf(_SC_CLK_TCK) call is needed.
const clockTicks = 100

// ProcCPU returns the user+system CPU seconds used so far by all threads of
// process pid (fields 14 and 15 of /proc/PID/stat, proc(5)).
func ProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("%w: %d: %w", ErrNoProcess, pid, err)
	}
	// comm (field 2) is in parentheses and may hold spaces: split after the
	// last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: bad times in /proc/%d/stat", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// ProcMemory is a process's resident memory in bytes (/proc/PID/status).
type ProcMemory struct {
	RSS  int64 // VmRSS, now
	Peak int64 // VmHWM, the high-water mark since start
}

// ProcMem reads VmRSS and VmHWM of process pid.
func ProcMem(pid int) (ProcMemory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMemory{}, fmt.Errorf("%w: %d: %w", ErrNoProcess, pid, err)
	}
	defer f.Close()
	var m ProcMemory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("bench: /proc/%d/status %s: %w", pid, k, err)
		}
		*dst = kb * 1024
	}
	return m, sc.Err()
}

// Machine describes the computer a report was measured on.
type Machine struct {
	CPU    string
	Cores  int
	Kernel string
	GoVer  string
}

// ThisMachine reads the CPU model from /proc/cpuinfo and the kernel release.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVer: runtime.Version(), CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
