package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// dtsBin is the dts binary built once for these tests: they drive the real
// binary as a user would.
var dtsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dts-bin-")
	if err != nil {
		panic(err)
	}
	dtsBin = filepath.Join(dir, "dts")
	build := exec.Command("go", "build", "-o", dtsBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build dts: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// dts runs the binary with args and env additions.
func dts(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dtsBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, out.String(), errOut.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startServer runs `dts server` and waits until it answers.
func startServer(t *testing.T, env []string, args ...string) (addr string, dataDir string, logs *bytes.Buffer) {
	t.Helper()
	addr, dataDir, logs = freeAddr(t), t.TempDir(), &bytes.Buffer{}
	cmd := exec.Command(dtsBin, append([]string{"server", "--addr", addr, "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			require.NoError(t, err, "dts server exits cleanly on SIGTERM:\n%s", logs)
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("dts server did not stop on SIGTERM")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
		for _, e := range env {
			if tok, ok := strings.CutPrefix(e, "DTS_API_TOKEN="); ok {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, dataDir, logs
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("dts server exited: %v\n%s", err, logs)
		default:
		}
		require.True(t, time.Now().Before(deadline), "dts server did not answer:\n%s", logs)
		time.Sleep(20 * time.Millisecond)
	}
}

const jobYAML = `
name: %s
type: migration
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:SRC_PW}", database: %s}
target: {engine: postgresql, host: %s, port: %d, user: dts, password: "${env:DST_PW}", database: %s}
objects: {%s: {all: true}}
`

func TestValidateOffline(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.yaml", fmt.Sprintf(jobYAML, "ok", "127.0.0.1", 3306, "shop", "127.0.0.1", 5432, "wh", "shop"))
	r := dts(t, []string{"SRC_PW=a", "DST_PW=b"}, "job", "validate", good)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `valid migration job "ok"`)

	bad := writeFile(t, "bad.yaml", "name: Bad\ntype: sync\nsource: {engine: mysql, port: 70000}\nobjects:\n  crm_*:\n    tables:\n      customers: {filter: ' '}\n")
	r = dts(t, nil, "job", "validate", bad)
	require.Equal(t, 2, r.code)
	for _, want := range []string{"error: InvalidParameter:", "  - name:", "  - source.host: required", "  - source.port: required", "  - target.engine: required", "  - objects.crm_*.tables.customers.filter: is blank"} {
		require.Contains(t, r.stderr, want)
	}
	r = dts(t, nil, "job", "validate", bad, "-o", "json")
	require.Equal(t, 2, r.code)
	var out map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stderr), &out), r.stderr)
	require.Equal(t, "InvalidParameter", out["error"]["code"])

	r = dts(t, nil, "job", "validate", writeFile(t, "env.yaml", fmt.Sprintf(jobYAML, "ok", "h", 1, "a", "h", 2, "b", "a")))
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "source.password: environment variable SRC_PW is not set")

	r = dts(t, nil, "job", "validate")
	require.Equal(t, 2, r.code)
	r = dts(t, nil, "version", "-o", "json")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, `"version"`)
}

func TestServerAndJobCommands(t *testing.T) {
	t.Parallel()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	addr, dataDir, logs := startServer(t, nil)
	env := []string{"DTS_SERVER=http://" + addr, "SRC_PW=" + testenv.Password, "DST_PW=" + testenv.Password}

	info, err := os.Stat(filepath.Join(dataDir, "secret.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	src, dst := my.Endpoint(my.NewDatabase(t)), pg.Endpoint(pg.NewDatabase(t))
	file := writeFile(t, "job.yaml", fmt.Sprintf(jobYAML, "cli-job", src.Host, src.Port, src.Database, dst.Host, dst.Port, dst.Database, src.Database))
	r := dts(t, env, "job", "create", "-f", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "created job job-")

	r = dts(t, env, "job", "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `ID\s+NAME\s+TYPE\s+STATE`, r.stdout)
	require.Contains(t, r.stdout, "cli-job")

	r = dts(t, env, "job", "show", "cli-job", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown))
	require.Equal(t, "created", shown["state"])

	r = dts(t, env, "job", "action", "cli-job", "test_connection")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `source\s+yes\s+yes\s+10\.`, r.stdout)
	require.Regexp(t, `target\s+yes\s+yes\s+1\d`, r.stdout)

	r = dts(t, env, "job", "action", "cli-job", "stop")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "OperationDenied.JobState: stop is not allowed while the job is created")

	r = dts(t, env, "job", "delete", "cli-job")
	require.Equal(t, 0, r.code, r.stderr)
	r = dts(t, env, "job", "show", "cli-job")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "JobNotFound")

	require.NotContains(t, logs.String(), testenv.Password)
	for _, name := range []string{"catalog.db", "catalog.db-wal"} {
		if data, err := os.ReadFile(filepath.Join(dataDir, name)); err == nil {
			require.NotContains(t, string(data), testenv.Password, name)
		}
	}
}

func TestServerNeedsATokenOffLoopback(t *testing.T) {
	t.Parallel()
	r := dts(t, []string{"DTS_API_TOKEN="}, "server", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir())
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "refusing to listen on 0.0.0.0:0 without an API token")

	addr, _, _ := startServer(t, []string{"DTS_API_TOKEN=s3cret-token"})
	r = dts(t, []string{"DTS_SERVER=http://" + addr, "DTS_API_TOKEN="}, "job", "list")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "Unauthorized")
	r = dts(t, []string{"DTS_SERVER=http://" + addr, "DTS_API_TOKEN=s3cret-token"}, "job", "list")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestLoopbackAddresses(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:9": true, "127.1.2.3:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:1": false, "10.0.0.1:80": false, "example.com:80": false, "garbage": false,
	} {
		require.Equal(t, want, isLoopback(addr), addr)
	}
}

// TestServerRunsAJob starts a job through the server: the same code as dts
// run copies the rows, progress shows in the job's status, and the
// lifecycle shows in its events.
func TestServerRunsAJob(t *testing.T) {
	t.Parallel()
	addr, _, logs := startServer(t, nil)
	env := []string{"DTS_SERVER=http://" + addr, "PW=" + testenv.Password}
	file, src, dst, schema := crashJob(t, "served", testenv.Postgres(t))

	r := dts(t, env, "job", "create", "-f", file)
	require.Equal(t, 0, r.code, r.stderr)
	r = dts(t, env, "job", "action", "served", "start", "--wait", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var started map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &started))
	require.Equal(t, "succeeded", started["operation"].(map[string]any)["status"], r.stdout)

	var shown map[string]any
	require.Eventually(t, func() bool {
		r := dts(t, env, "job", "show", "served", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		shown = nil
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown))
		require.NotEqual(t, "failed", shown["state"], "%v\n%s", shown["error"], logs)
		return shown["state"] == "completed"
	}, 60*time.Second, 100*time.Millisecond)
	status := shown["status"].(map[string]any)
	require.Equal(t, "done", status["phase"])
	require.Equal(t, float64(crashRows), status["rows"])
	table := status["tables"].([]any)[0].(map[string]any)
	require.Equal(t, true, table["loaded"])
	require.NotEmpty(t, status["snapshot"])
	requireEqualTables(t, src, dst, `"`+schema+`".sbtest1`)

	resp, err := http.Get("http://" + addr + "/v1/jobs/served/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	var events struct {
		Events []struct{ Type, Message string } `json:"events"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&events))
	var msgs []string
	for _, e := range events.Events {
		msgs = append(msgs, e.Message)
	}
	require.Contains(t, strings.Join(msgs, "\n"), "running → completed: every phase completed")

	r = dts(t, env, "job", "action", "served", "reset", "--wait")
	require.Equal(t, 0, r.code, r.stderr)
	r = dts(t, env, "job", "show", "served")
	require.Contains(t, r.stdout, "created")
	require.Zero(t, copiedRows(dst, false, shown["id"].(string)), "reset forgot the progress on the target")
}
