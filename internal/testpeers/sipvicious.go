package testpeers

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Sipvicious tools (Debian package sipvicious), the scanners SIP phones
// meet within minutes of being on the Internet.
const (
	// Svmap finds SIP devices and fingerprints them (OPTIONS, or -m INVITE).
	Svmap = "svmap"
	// Svwar enumerates extensions (REGISTER, OPTIONS or INVITE per user).
	Svwar = "svwar"
	// Svcrack brute-forces a digest password with REGISTERs.
	Svcrack = "svcrack"
	// Svcrash sends the malformed response meant to crash a running svwar
	// or svcrack; pointed at a phone, it is one more hostile datagram.
	Svcrash = "svcrash"
)

// SipviciousScan is one run of a tool against a target.
type SipviciousScan struct {
	// Name says what the scan does, for test names.
	Name string
	// Tool is Svmap, Svwar, Svcrack or Svcrash.
	Tool string
	// Args are the tool's arguments, target included.
	Args []string
}

// SipviciousScans are the runs a SIP UA on target (ip:port, UDP) should
// survive, each sent from bindIP (a stranger's address; svcrash cannot
// choose it). Every run is bounded by the tools' own limits (-t,
// --maximumtime, small ranges) and by RunSipvicious' timeout.
func SipviciousScans(target, bindIP string) []SipviciousScan {
	host, port, _ := net.SplitHostPort(target)
	url := "udp://" + target
	return []SipviciousScan{
		{Name: "svmap OPTIONS", Tool: Svmap, Args: []string{"-b", bindIP, "-p", port, "-t", "0.05", host}},
		{Name: "svmap INVITE", Tool: Svmap, Args: []string{"-b", bindIP, "-p", port, "-t", "0.05", "-m", "INVITE", "-e", "100", host}},
		{Name: "svwar REGISTER", Tool: Svwar, Args: []string{"-b", bindIP, "--force", "-t", "0.05", "--maximumtime", "5", "-e", "100-120", url}},
		{Name: "svwar INVITE", Tool: Svwar, Args: []string{"-b", bindIP, "--force", "-t", "0.05", "--maximumtime", "5", "-m", "INVITE", "-e", "100-104", url}},
		{Name: "svwar OPTIONS", Tool: Svwar, Args: []string{"-b", bindIP, "--force", "-t", "0.05", "--maximumtime", "5", "-m", "OPTIONS", "-e", "100-120", url}},
		{Name: "svcrack", Tool: Svcrack, Args: []string{"-b", bindIP, "-t", "0.05", "--maximumtime", "5", "-u", "100", "-r", "1000-1004", url}},
		{Name: "svcrash", Tool: Svcrash, Args: []string{"-d", host, "-p", port}},
	}
}

// SipviciousResult is how a run ended.
type SipviciousResult struct {
	Output   string
	Elapsed  time.Duration
	TimedOut bool  // killed at the deadline (not a failure: scanners loop)
	Err      error // the exit status otherwise
}

// RunSipvicious runs one scan to its end or to timeout, whichever comes
// first; the tool runs in its own process group, killed at the deadline.
func RunSipvicious(tb testing.TB, s SipviciousScan, timeout time.Duration) SipviciousResult {
	tb.Helper()
	Require(tb, s.Tool)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Tool, s.Args...)
	cmd.Dir = tb.TempDir() // sessions (.sipvicious) stay out of $HOME
	cmd.Env = append(cmd.Environ(), "HOME="+cmd.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r := SipviciousResult{Output: string(out), Elapsed: time.Since(start), TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	if !r.TimedOut {
		r.Err = err
	}
	return r
}

// String is a short summary for logs.
func (r SipviciousResult) String() string {
	s := "ran " + r.Elapsed.Round(time.Millisecond).String()
	if r.TimedOut {
		s += " (stopped at the deadline)"
	}
	if r.Err != nil {
		s += ", exit: " + r.Err.Error()
	}
	return s + ", " + strconv.Itoa(len(r.Output)) + " bytes of output"
}
