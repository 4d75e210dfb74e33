package testenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dtsorg/dts/internal/job"
)

// PostgresOptions changes a dedicated PostgreSQL server.
type PostgresOptions struct {
	// Settings are extra server settings, e.g. max_slot_wal_keep_size or
	// log_statement; they override the harness's. They are written to a
	// configuration file, not the command line, so ALTER SYSTEM overrides
	// them after a restart, as on a real server.
	Settings map[string]string
	// TLS turns TLS on with these certificates.
	TLS *Certs
}

// StartPostgres starts a PostgreSQL server of the test's own; it is removed when the test ends.
func StartPostgres(t testing.TB, o PostgresOptions) *Server {
	t.Helper()
	s, err := startPostgres(o)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(s.shutdown)
	return s
}

// The bootstrap superuser; tests log in as User.
const pgAdmin = "postgres"

type postgres struct {
	bindir string
	dir    string
	cred   *syscall.Credential // the postgres OS user when the tests run as root
	opts   PostgresOptions
}

func startPostgres(o PostgresOptions) (*Server, error) {
	bindir, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("dtsp")
	if err != nil {
		return nil, err
	}
	p := &postgres{bindir: bindir, dir: dir, opts: o}
	s := &Server{Engine: job.EnginePostgreSQL, Host: "127.0.0.1", User: User, Password: Password, Dir: dir, flavor: p}
	if err := p.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.writeSettings(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.boot(true); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.createUser(s.Port); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

// init gives the server a copy of the template data directory, made by
// initdb with password authentication (scram-sha-256 for local and host
// lines, replication included), so a wrong password really fails.
// PostgreSQL refuses to run as root: as root, the directories go to the
// postgres OS user and initdb and postgres run as that user.
func (p *postgres) init() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("PostgreSQL does not run as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.opts.TLS != nil {
		if err := p.opts.TLS.write(p.dir, p.cred); err != nil {
			return err
		}
	}
	if p.cred != nil {
		if err := os.Chown(p.dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return err
		}
	}
	return postgresTemplate.copyTo(p.dir, "dtsp", p.initdb)
}

// initdb initialises the template's data directory in dir. Its
// postgresql.conf includes settingsFile last: the harness's settings
// override initdb's, and ALTER SYSTEM (postgresql.auto.conf, read after
// postgresql.conf) overrides the harness's, as on a real server.
func (p *postgres) initdb(dir string) error {
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if p.cred != nil {
		for _, f := range []string{dir, pwfile} {
			if err := os.Chown(f, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return err
			}
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(filepath.Join(p.bindir, "initdb"), "-D", data,
		"-U", pgAdmin, "-A", "scram-sha-256", "--pwfile="+pwfile,
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = sysProcAttr(p.cred)
	if err := run(cmd); err != nil {
		return err
	}
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(conf, "\ninclude_if_exists = '%s'\n", settingsFile)
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	return err
}

// settingsFile holds the harness's settings, in the data directory.
const settingsFile = "testenv.conf"

// settings returns the server's settings: the harness's, then the options'.
func (p *postgres) settings() map[string]string {
	settings := map[string]string{
		"listen_addresses":      "127.0.0.1",
		"wal_level":             "logical",
		"max_replication_slots": "20",
		"max_wal_senders":       "20",
		"fsync":                 "off", // safe for process kills, not OS crashes
		"full_page_writes":      "off",
		"shared_buffers":        "64MB",
		"wal_sender_timeout":    "10s",
	}
	if p.opts.TLS != nil {
		settings["ssl"] = "on"
		settings["ssl_cert_file"] = filepath.Join(p.dir, certFile)
		settings["ssl_key_file"] = filepath.Join(p.dir, keyFile)
		settings["ssl_ca_file"] = filepath.Join(p.dir, caFile)
	}
	for k, v := range p.opts.Settings {
		settings[k] = v
	}
	return settings
}

// writeSettings writes the settings into the data directory's settingsFile.
func (p *postgres) writeSettings() error {
	settings := p.settings()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(settings[k], "'", "''"))
	}
	path := filepath.Join(p.dir, "data", settingsFile)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	if p.cred != nil {
		return os.Chown(path, int(p.cred.Uid), int(p.cred.Gid))
	}
	return nil
}

func (p *postgres) command(port int) *exec.Cmd {
	args := []string{"-D", filepath.Join(p.dir, "data"), "-p", strconv.Itoa(port), "-k", p.dir}
	cmd := exec.Command(filepath.Join(p.bindir, "postgres"), args...)
	cmd.SysProcAttr = sysProcAttr(p.cred)
	return cmd
}

// stopSignal is SIGINT: PostgreSQL's fast shutdown.
func (p *postgres) stopSignal() syscall.Signal { return syscall.SIGINT }

func (p *postgres) ping(ctx context.Context, port int) error {
	conn, err := pgconn.ConnectConfig(ctx, &pgConfig(port, pgAdmin, "postgres").Config)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (p *postgres) createUser(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, pgConfig(port, pgAdmin, "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// CREATE ROLE takes no parameters; standard_conforming_strings is on.
	lit := "'" + strings.ReplaceAll(Password, "'", "''") + "'"
	_, err = conn.Exec(ctx, "CREATE ROLE "+User+" WITH SUPERUSER LOGIN REPLICATION PASSWORD "+lit)
	if err != nil {
		return fmt.Errorf("create role %s: %w", User, err)
	}
	return nil
}

func (p *postgres) connector(port int, database string) (driver.Connector, error) {
	return stdlib.GetConnector(*pgConfig(port, User, database)), nil
}

// pgConfig builds a client config field by field: the harness's own
// connections ignore PG* environment variables and ~/.pgpass.
func pgConfig(port int, user, database string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		panic(err) // a constant string
	}
	if database == "" {
		database = "postgres"
	}
	cfg.Host, cfg.Port = "127.0.0.1", uint16(port)
	cfg.User, cfg.Password, cfg.Database = user, Password, database
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RuntimeParams = map[string]string{"application_name": "testenv"}
	return cfg
}

func (p *postgres) createDatabase(name string) string {
	return `CREATE DATABASE "` + name + `"`
}

// dropDatabase drops a test's database with the replication slots the test
// left on it (DROP DATABASE ... WITH (FORCE) ends sessions, but not slots).
func (p *postgres) dropDatabase(ctx context.Context, db *sql.DB, name string) error {
	for {
		// Errors are retried: a slot may turn active between the statements.
		db.ExecContext(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active`, name)
		db.ExecContext(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, name)
		var left int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = $1`, name).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication slots on %s stay active: %w", name, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
	_, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+strings.ReplaceAll(name, `"`, `""`)+`" WITH (FORCE)`)
	return err
}
