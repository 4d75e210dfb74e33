// Command dts is the data transmission service: `dts server` runs the REST
// API and its embedded catalog; the other commands talk to a server or run
// one job file in the foreground. main only wires things together.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
