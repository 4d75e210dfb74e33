// Command dts is the data transmission service: `dts server` runs the REST
// API and its embedded catalog; the other commands talk to a server or run
// one job file in the foreground. main only wires things together.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	_ "time/tzdata" // time zones in job files resolve the same on every machine
)

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT says
// otherwise: copying big rows makes garbage fast, and without a limit the
// collector lets the heap grow to twice what is live before it runs.
const defaultMemoryLimit = 128 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	stopProfile := cpuProfile(os.Getenv("DTS_CPUPROFILE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the whole run to path (DTS_CPUPROFILE,
// for `go tool pprof`; "" does nothing): where a benchmark's time goes.
func cpuProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		os.Stderr.WriteString("DTS_CPUPROFILE: " + err.Error() + "\n")
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
