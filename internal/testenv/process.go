package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	pollInterval = 20 * time.Millisecond
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// process is one running server. Its output goes to a log file whose tail
// explains a failed start.
type process struct {
	cmd     *exec.Cmd
	logPath string
	logFrom int64 // size of the log when this process started
	done    chan struct{}
	waitErr error // valid after done is closed
}

// sysProcAttr puts the child in its own process group (so that teardown
// reaches the server's children too) and kills it when the test binary dies.
// Pdeathsig fires when the OS thread that forked exits, not the process; Go
// does not retire threads unless a goroutine locked to one exits, which the
// harness never does.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// startProcess starts cmd with its stdout and stderr appended to logPath.
func startProcess(cmd *exec.Cmd, logPath string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy
	st, err := log.Stat()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, logPath: logPath, logFrom: st.Size(), done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls ping until it succeeds. It fails at once when the process
// exits, and after readyTimeout; both failures carry the tail of the log.
func (p *process) waitReady(ping func(ctx context.Context) error) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		last = ping(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v\n%s", filepath.Base(p.cmd.Path), readyTimeout, last, p.logTail())
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start (%v)\n%s", filepath.Base(p.cmd.Path), p.waitErr, p.logTail())
		case <-tick.C:
		}
	}
}

// stop sends sig, waits up to stopTimeout for the process to exit and then
// kills its process group.
func (p *process) stop(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
	}
	p.kill()
}

// kill kills the server and every process it started, and waits until they
// are gone: PostgreSQL cannot restart while a killed backend still holds its
// shared memory. Killing the process group is not enough, because PostgreSQL
// backends call setsid(): the server's descendants are found through /proc.
func (p *process) kill() {
	pid := p.cmd.Process.Pid
	var pids []int
	select {
	case <-p.done: // exited by itself; its pid may be reused by now
	default:
		_ = syscall.Kill(pid, syscall.SIGSTOP) // it starts no new children from here on
		pids = append(descendants(pid), pid)
		for _, q := range pids {
			_ = syscall.Kill(q, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	<-p.done
	deadline := time.Now().Add(stopTimeout)
	for slices.ContainsFunc(pids, alive) && time.Now().Before(deadline) {
		time.Sleep(pollInterval) // polling with a deadline: the kernel gives no signal for this
	}
}

// descendants returns the processes started by pid, their children and so on.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if q, err := strconv.Atoi(e.Name()); err == nil {
			if f := procStat(q); len(f) >= 2 {
				ppid, _ := strconv.Atoi(f[1])
				children[ppid] = append(children[ppid], q)
			}
		}
	}
	var out []int
	for next := []int{pid}; len(next) > 0; {
		q := next[0]
		next = append(next[1:], children[q]...)
		out = append(out, children[q]...)
	}
	return out
}

// alive reports whether process pid runs. Zombies do not count: PID 1 in a
// container may never reap them.
func alive(pid int) bool {
	f := procStat(pid)
	return len(f) > 0 && f[0] != "Z"
}

// procStat returns the fields of /proc/pid/stat after the command name:
// state, ppid, pgrp, ...; nil when the process is gone.
func procStat(pid int) []string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name is in parentheses and may hold spaces and parentheses.
	return strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
}

// logTail returns the last lines this process wrote to its log.
func (p *process) logTail() string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(p.logFrom, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "--- " + p.logPath + " (tail) ---\n" + strings.Join(lines, "\n")
}

// run runs a setup command (initdb, mariadb-install-db) and returns its output
// in the error when it fails.
func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}
