package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/logging"
)

// globals are the flags every command shares.
type globals struct {
	logFormat string
	logLevel  string
	output    string // table | json
	stdout    io.Writer
	stderr    io.Writer
}

func (g *globals) logger() (*slog.Logger, error) {
	return logging.New(g.stderr, g.logFormat, g.logLevel)
}

// execute runs the CLI and returns the process exit code: 0 on success,
// 2 for invalid input, 1 for any other failure.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "dts",
		Short:         "dts moves databases and keeps them in sync",
		Long:          "dts copies structure and data between MySQL/MariaDB and PostgreSQL, keeps them in sync\nfrom the binlog or logical replication, and proves both sides hold the same data.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVarP(&g.output, "output", "o", "table", "output: table (for people) or json (for scripts)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.output != "table" && g.output != "json" {
			return errs.Invalid([]errs.FieldError{{Path: "--output", Message: fmt.Sprintf("%q is not allowed; allowed: table, json", g.output)}})
		}
		return nil
	}
	root.AddCommand(serverCmd(g), jobCmd(g), runCmd(g), versionCmd(g))
	root.AddCommand(compareCmd(g))
	root.AddCommand(precheckCmd(g))

	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(g, err)
	if errs.CodeOf(err) == errs.InvalidParameter || isUsageError(err) {
		return 2
	}
	return 1
}

// printError shows an error to people (code, message, field problems, fix)
// or, with -o json, as the API's error object.
func printError(g *globals, err error) {
	e, ok := errs.As(err)
	if !ok {
		code := "Failed"
		if isUsageError(err) {
			code = errs.InvalidParameter
		}
		e = &errs.Error{Code: code, Message: err.Error()}
	}
	if g.output == "json" {
		writeJSON(g.stderr, map[string]any{"error": map[string]any{
			"code": e.Code, "message": e.Message, "fix": e.Fix, "fields": e.Fields, "details": e.Details,
		}})
		return
	}
	msg := e.Message
	if e.Err != nil && e.Code != errs.Internal {
		msg += ": " + e.Err.Error()
	}
	if ok {
		fmt.Fprintf(g.stderr, "error: %s: %s\n", e.Code, msg)
	} else {
		fmt.Fprintf(g.stderr, "error: %s\n", msg)
	}
	if len(e.Fields) > 1 {
		for _, f := range e.Fields {
			fmt.Fprintf(g.stderr, "  - %s\n", f.Error())
		}
	}
	if e.Fix != "" {
		fmt.Fprintf(g.stderr, "fix: %s\n", e.Fix)
	}
}

// usageError marks a mistake in the command line itself.
type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s; see %s --help", cmd.CommandPath(), names, cmd.CommandPath())}
		}
		return nil
	}
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
