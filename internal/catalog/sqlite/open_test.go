package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

func TestMigrationsApplyOnceAndAgain(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "catalog.db")
	migrations, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, migrations)

	state := func() (version int64, rows int) {
		db := rawDB(t, path)
		require.NoError(t, db.QueryRowContext(t.Context(),
			`SELECT MAX(version_id), COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&version, &rows))
		return version, rows
	}

	s := open(t, path, newBox(t))
	version, rows := state()
	require.Equal(t, int64(len(migrations)), version, "every migration applied to a fresh file")
	require.Equal(t, len(migrations), rows)
	var tables []string
	r, err := rawDB(t, path).QueryContext(t.Context(), `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	require.NoError(t, err)
	for r.Next() {
		var name string
		require.NoError(t, r.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, r.Err())
	require.Equal(t, []string{"compare_records", "compares", "events", "goose_db_version", "job_state_history", "jobs", "operations", "prechecks"}, tables)
	require.NoError(t, s.Close())

	open(t, path, newBox(t))
	again, rowsAgain := state()
	require.Equal(t, version, again)
	require.Equal(t, rows, rowsAgain, "reopening applies nothing twice")
}

func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "catalog.db")
	require.NoError(t, open(t, path, newBox(t)).Close())
	_, err := rawDB(t, path).ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`)
	require.NoError(t, err)

	_, err = sqlite.Open(t.Context(), path, newBox(t), testLogger(t))
	e, ok := errs.As(err)
	require.True(t, ok, "not a coded error: %v", err)
	require.Contains(t, e.Message, "9999")
	require.NotEmpty(t, e.Fix)
}

func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "dts")
	path := filepath.Join(dir, "catalog.db")
	s := open(t, path, newBox(t))
	createJob(t, s, "job-1", "orders") // the WAL exists once something is written

	modes := map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
	for name, want := range modes {
		info, err := os.Stat(name)
		require.NoError(t, err)
		require.Equal(t, want, info.Mode().Perm(), name)
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	box := newBox(t)
	s := open(t, path, box)
	createJob(t, s, "job-1", "orders")
	want, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error { j.State = job.StatePrechecking; return nil })
	require.NoError(t, err)
	require.NoError(t, s.AppendEvent(ctx, &catalog.Event{JobID: "job-1", Level: catalog.LevelInfo, Type: "state_changed"}))
	require.NoError(t, s.CreateOperation(ctx, &catalog.Operation{ID: "op-1", JobID: "job-1", Action: "precheck", Status: catalog.OpRunning}))
	require.NoError(t, s.Close())

	s = open(t, path, box)
	got, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	require.Equal(t, want.Version, got.Version)
	require.Equal(t, want.State, got.State)
	require.True(t, want.UpdatedAt.Equal(got.UpdatedAt))
	require.Equal(t, "pw", got.Spec.Source.Password.Reveal())
	history, err := s.History(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, history, 1)
	events, err := s.ListEvents(ctx, "job-1", 0, 0)
	require.NoError(t, err)
	require.Len(t, events, 1)
	_, err = s.GetOperation(ctx, "op-1")
	require.NoError(t, err)
}

func createJob(t *testing.T, s catalog.Store, id, name string) *catalog.Job {
	t.Helper()
	spec, err := job.DecodeJSON([]byte(`{"name":"` + name + `","type":"migration",
		"source":{"engine":"mysql","host":"h","port":3306,"user":"u","password":"pw"},
		"target":{"engine":"postgresql","host":"h","port":5432,"user":"u"}}`))
	require.NoError(t, err)
	j := &catalog.Job{ID: id, Spec: spec, State: job.StateCreated}
	require.NoError(t, s.CreateJob(t.Context(), j))
	return j
}
