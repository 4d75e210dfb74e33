package conntest

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	myconn "github.com/dtsorg/dts/internal/connector/mysql"
	pgconnector "github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/job"
)

func testMySQL(ctx context.Context, e job.Endpoint, probe *dialProbe, r *Result) error {
	cfg, err := myconn.Config(e)
	if err != nil {
		return err
	}
	cfg.DialFunc = probe.wrap(cfg.DialFunc)
	db, err := myconn.OpenConfig(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	r.Authenticated = true
	db.SetMaxOpenConns(1) // the round trips reuse the connection that logged in

	qctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	var version string
	if err := db.QueryRowContext(qctx, "SELECT VERSION()").Scan(&version); err != nil {
		return myconn.Classify(err, e)
	}
	// MariaDB's handshake says "5.5.5-10.11.19-MariaDB..." to old clients; VERSION() should not, but be sure.
	r.ServerVersion = strings.TrimPrefix(version, "5.5.5-")
	r.RTTMillis, err = roundTrips(func() error {
		var one int
		return db.QueryRowContext(qctx, "SELECT 1").Scan(&one) // text protocol: one round trip
	})
	return myconn.Classify(err, e)
}

func testPostgres(ctx context.Context, e job.Endpoint, probe *dialProbe, r *Result) error {
	cfg, err := pgconnector.Config(e)
	if err != nil {
		return err
	}
	cfg.DialFunc = probe.wrap(cfg.DialFunc)
	conn, err := pgconnector.ConnectConfig(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	r.Authenticated = true

	qctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	if err := conn.QueryRow(qctx, "SHOW server_version", pgx.QueryExecModeSimpleProtocol).Scan(&r.ServerVersion); err != nil {
		return pgconnector.Classify(err, e)
	}
	r.RTTMillis, err = roundTrips(func() error {
		var one int
		return conn.QueryRow(qctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol).Scan(&one) // one round trip
	})
	return pgconnector.Classify(err, e)
}
