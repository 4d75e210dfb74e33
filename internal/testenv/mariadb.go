package testenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/job"
)

// MariaDBOptions changes a dedicated MariaDB server.
type MariaDBOptions struct {
	// BinlogRowMetadata is FULL (the harness default), MINIMAL or NO_LOG
	// (MariaDB's own default).
	BinlogRowMetadata string
	// Args are extra mariadbd options ("--name=value"); they come last and
	// so override the harness's.
	Args []string
	// TLS turns TLS on with these certificates.
	TLS *Certs
	// DataDisk, when set, is the size in bytes of a tmpfs mounted at the data
	// directory: a small disk for free-space and disk-full tests (needs
	// root; Server.ResizeDataDisk changes it).
	DataDisk int64
	// ClockOffset, when set, runs the server's clock that far ahead of the
	// machine's (behind when negative), through libfaketime: a server whose
	// clock is not synchronised.
	ClockOffset time.Duration
}

// StartMariaDB starts a MariaDB server of the test's own; it is removed when the test ends.
func StartMariaDB(t testing.TB, o MariaDBOptions) *Server {
	t.Helper()
	s, err := startMariaDB(o)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(s.shutdown)
	return s
}

var serverIDs atomic.Uint32 // server_id of each MariaDB server of this test binary

type mariadb struct {
	bin      string // mariadbd
	dir      string
	serverID uint32
	opts     MariaDBOptions
}

func startMariaDB(o MariaDBOptions) (*Server, error) {
	bin, installDB, err := mariadbBinaries()
	if err != nil {
		return nil, err
	}
	if o.ClockOffset != 0 {
		if err := needFaketime(); err != nil {
			return nil, err
		}
	}
	dir, err := tempDir("dtsm")
	if err != nil {
		return nil, err
	}
	m := &mariadb{bin: bin, dir: dir, serverID: serverIDs.Add(1), opts: o}
	s := &Server{Engine: job.EngineMariaDB, Host: "127.0.0.1", User: User, Password: Password, Dir: dir, flavor: m}
	if err := m.init(installDB); err != nil {
		s.shutdown()
		return nil, err
	}
	if err := s.boot(true); err != nil {
		s.shutdown()
		return nil, err
	}
	if err := m.createUser(s.Port); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func (m *mariadb) init(installDB string) error {
	if err := os.Mkdir(filepath.Join(m.dir, "tmp"), 0o700); err != nil {
		return err
	}
	if m.opts.TLS != nil {
		if err := m.opts.TLS.write(m.dir, nil); err != nil {
			return err
		}
	}
	if m.opts.DataDisk > 0 {
		if err := mountDisk(filepath.Join(m.dir, "data"), m.opts.DataDisk); err != nil {
			return err
		}
	}
	return mariadbTemplate.copyTo(m.dir, "dtsm", func(tpl string) error {
		if err := os.Mkdir(filepath.Join(tpl, "tmp"), 0o700); err != nil {
			return err
		}
		args := []string{"--no-defaults", "--datadir=" + filepath.Join(tpl, "data"),
			"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
			"--innodb-log-file-size=48M", "--tmpdir=" + filepath.Join(tpl, "tmp")}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		return run(exec.Command(installDB, args...))
	})
}

func (m *mariadb) command(port int) *exec.Cmd {
	meta := m.opts.BinlogRowMetadata
	if meta == "" {
		meta = "FULL"
	}
	args := []string{"--no-defaults", // never /etc/mysql, nor the machine's own server's settings
		"--datadir=" + filepath.Join(m.dir, "data"),
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(m.dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(m.dir, "mysqld.pid"),
		// A server of its own: mariadbd deletes every #sql* file in its tmpdir at
		// start, including those of other servers starting at the same time.
		"--tmpdir=" + filepath.Join(m.dir, "tmp"),
		"--skip-name-resolve",
		"--server-id=" + strconv.FormatUint(uint64(m.serverID), 10),
		"--log-bin=binlog",
		"--binlog-format=ROW",
		"--binlog-row-image=FULL",
		"--binlog-row-metadata=" + meta,
		"--gtid-strict-mode=ON",
		"--log-slave-updates=ON",
		"--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=48M",
		"--innodb-flush-log-at-trx-commit=2", // with sync-binlog=0: safe for process kills, not OS crashes
		"--sync-binlog=0",
		"--performance-schema=OFF",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_unicode_ci",
		"--max-connections=300",
		"--max-allowed-packet=64M",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if m.opts.TLS != nil {
		args = append(args, "--ssl-cert="+filepath.Join(m.dir, certFile),
			"--ssl-key="+filepath.Join(m.dir, keyFile), "--ssl-ca="+filepath.Join(m.dir, caFile))
	}
	cmd := exec.Command(m.bin, append(args, m.opts.Args...)...)
	cmd.SysProcAttr = sysProcAttr(nil)
	if m.opts.ClockOffset != 0 {
		cmd.Env = append(os.Environ(), fakeClock(m.opts.ClockOffset)...)
	}
	return cmd
}

func (m *mariadb) stopSignal() syscall.Signal { return syscall.SIGTERM }

// ping logs in as root, who has no password over TCP after mariadb-install-db.
func (m *mariadb) ping(ctx context.Context, port int) error {
	c, err := mysql.NewConnector(mysqlConfig(port, "root", "", ""))
	if err != nil {
		return err
	}
	conn, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (m *mariadb) createUser(port int) error {
	c, err := mysql.NewConnector(mysqlConfig(port, "root", "", ""))
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// CREATE USER takes no placeholders; the literal is escaped for the default sql_mode.
	lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(Password) + "'"
	for _, q := range []string{
		"CREATE USER '" + User + "'@'%' IDENTIFIED BY " + lit,
		"GRANT ALL PRIVILEGES ON *.* TO '" + User + "'@'%' WITH GRANT OPTION",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create user %s: %w", User, err)
		}
	}
	return nil
}

func (m *mariadb) connector(port int, database string) (driver.Connector, error) {
	return mysql.NewConnector(mysqlConfig(port, User, Password, database))
}

func mysqlConfig(port int, user, password, database string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", "127.0.0.1:"+strconv.Itoa(port)
	cfg.User, cfg.Passwd, cfg.DBName = user, password, database
	cfg.ParseTime = true
	cfg.Timeout = 5 * time.Second
	return cfg
}

func (m *mariadb) createDatabase(name string) string {
	return "CREATE DATABASE `" + name + "`"
}

func (m *mariadb) dropDatabase(ctx context.Context, db *sql.DB, name string) error {
	_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+strings.ReplaceAll(name, "`", "``")+"`")
	return err
}
