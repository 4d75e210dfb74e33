// Command dts is the data transmission service: `dts server` runs the REST
// API and its embedded catalog; the other commands talk to a server or run
// one job file in the foreground. main only wires things together.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // time zones in job files resolve the same on every machine
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
