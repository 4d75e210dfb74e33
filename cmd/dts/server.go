package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/api"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/secret"
)

func serverCmd(g *globals) *cobra.Command {
	var addr, dataDir, token string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the REST API with its embedded catalog",
		Long: "Run the REST API under /v1 with the embedded SQLite catalog in --data-dir.\n" +
			"Listening on anything but a loopback address needs an API token (--token or DTS_API_TOKEN).",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv("DTS_API_TOKEN")
			}
			return runServer(cmd.Context(), g, addr, dataDir, token)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&dataDir, "data-dir", "./dts-data", "directory of the catalog and the secret key")
	cmd.Flags().StringVar(&token, "token", "", "API token every request must carry (default $DTS_API_TOKEN)")
	return cmd
}

func runServer(ctx context.Context, g *globals, addr, dataDir, token string) error {
	log, err := g.logger()
	if err != nil {
		return usageError{err}
	}
	if token == "" && !isLoopback(addr) {
		return errs.New(errs.InvalidParameter, "refusing to listen on %s without an API token: anyone who can reach it could read and change jobs", addr).
			WithFix("set --token or DTS_API_TOKEN, or listen on 127.0.0.1")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	key, err := secret.LoadKey(dataDir, os.LookupEnv)
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "catalog.db"), box, log)
	if err != nil {
		return fmt.Errorf("open catalog: %w", err)
	}
	defer store.Close()
	svc := control.New(store, log)
	defer svc.Close()
	mgr := runner.NewManager(svc, engines.Engines{}, log)
	defer mgr.Close() // runs before svc.Close: jobs pause before operations are cancelled
	if err := mgr.Recover(ctx); err != nil {
		return fmt.Errorf("resume running jobs: %w", err)
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return errs.Wrap(err, errs.InvalidParameter, "cannot listen on %s", addr).WithFix("choose another --addr")
	}
	srv := &http.Server{
		Handler:           api.New(svc, api.Options{Token: token, Version: version, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Info("dts server listening", "addr", lis.Addr().String(), "data_dir", dataDir, "auth", token != "", "version", version)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("dts server stopping")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop HTTP server: %w", err)
	}
	return nil
}

// isLoopback reports whether addr only accepts connections from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
