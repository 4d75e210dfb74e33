package mysql

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

func TestBookkeeping(t *testing.T) {
	e := newEnv(t)
	sink := e.sink()
	job1, job2 := uuid.NewString(), uuid.NewString()
	name := "job-" + e.dst // dts_meta is shared by the tests: names of their own

	require.NoError(t, sink.Claim(e.ctx, job1, name))
	require.NoError(t, sink.Claim(e.ctx, job1, name), "claiming again is fine")
	err := sink.Claim(e.ctx, job2, name)
	require.Equal(t, CodeTargetOwned, errs.CodeOf(err))
	require.ErrorContains(t, err, job1)

	pos1 := change.Position{Engine: "mysql", Flavor: "mariadb", File: "binlog.000001", Pos: 4, GTIDSet: "0-1-5"}
	pos2 := change.Position{Engine: "postgresql", LSN: 1 << 40}
	require.NoError(t, sink.AddRun(e.ctx, job1, pos1))
	require.NoError(t, sink.AddRun(e.ctx, job1, pos2))

	st := &connector.TableState{Table: "src.t", Target: e.dst + ".t", Created: true, Partitions: []connector.Partition{
		{No: 0, Upto: value.Row{[]byte("m"), {0, 0xff}}},
		{No: 1, After: value.Row{[]byte("m"), {0, 0xff}}, Last: value.Row{value.Empty, nil}, Rows: 7},
	}}
	require.NoError(t, sink.SaveTableState(e.ctx, job1, st))
	got, err := sink.LoadState(e.ctx, job1)
	require.NoError(t, err)
	require.Equal(t, []change.Position{pos1, pos2}, got.Runs)
	require.Equal(t, map[string]*connector.TableState{"src.t": st}, got.Tables)

	st.Loaded, st.Finished = true, true
	st.Partitions[0].Done = true
	require.NoError(t, sink.SaveTableState(e.ctx, job1, st))
	got, err = sink.LoadState(e.ctx, job1)
	require.NoError(t, err)
	require.Equal(t, st, got.Tables["src.t"])

	other, err := sink.LoadState(e.ctx, job2)
	require.NoError(t, err)
	require.Empty(t, other.Runs)
	require.Empty(t, other.Tables)

	require.NoError(t, sink.Forget(e.ctx, job1))
	got, err = sink.LoadState(e.ctx, job1)
	require.NoError(t, err)
	require.Empty(t, got.Runs)
	require.Empty(t, got.Tables)
	require.NoError(t, sink.Claim(e.ctx, job2, name), "the name is free once forgotten")
	require.NoError(t, sink.Forget(e.ctx, job2))
}

// A chunk's rows and its progress commit together, or neither does.
func TestWriteChunkProgressIsAtomic(t *testing.T) {
	e := newEnv(t)
	sink := e.sink()
	jobID := uuid.NewString()
	require.NoError(t, sink.Claim(e.ctx, jobID, "atomic-"+e.dst))
	t.Cleanup(func() { sink.Forget(e.ctx, jobID) })
	table := &schema.Table{Schema: e.dst, Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}},
		{Name: "v", Type: schema.Type{Kind: schema.KindVarChar, Length: 10, Raw: "varchar(10)"}, Nullable: true},
		{Name: "g", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}, Nullable: true, Generated: &schema.Generated{Expr: "`id` * 2"}},
	}}
	require.NoError(t, sink.PrepareTable(e.ctx, table, "fail"))
	st := &connector.TableState{Table: "src.t", Target: table.String(), Created: true, Partitions: []connector.Partition{{No: 0}}}
	require.NoError(t, sink.SaveTableState(e.ctx, jobID, st))

	batch := func(from, n int) []value.Row {
		var rows []value.Row
		for i := from; i < from+n; i++ {
			rows = append(rows, value.Row{[]byte(itoa(i)), []byte("v" + itoa(i)), []byte("ignored")})
		}
		return rows
	}
	write := func(batches [][]value.Row, fail error, last value.Row, done bool) (int64, error) {
		i := 0
		w := connector.ChunkWrite{Table: table, Columns: []string{"id", "v", "g"}, SourceTypes: []schema.Type{
			table.Columns[0].Type, table.Columns[1].Type, table.Columns[2].Type}}
		var count int64
		w.Progress = func() connector.Progress {
			return connector.Progress{JobID: jobID, Table: "src.t", Partition: 0, Last: last, Rows: count, Done: done}
		}
		return sink.WriteChunk(e.ctx, w, func() ([]value.Row, error) {
			if i == len(batches) {
				return nil, fail
			}
			b := batches[i]
			i++
			count += int64(len(b))
			return b, nil
		})
	}
	// 2,500 rows: statements of batch_rows rows and a shorter last one.
	n, err := write([][]value.Row{batch(1, 1000), batch(1001, 1000), batch(2001, 500)}, nil, value.Row{[]byte("2500")}, false)
	require.NoError(t, err)
	require.EqualValues(t, 2500, n)

	boom := errors.New("source went away")
	_, err = write([][]value.Row{batch(2501, 1000), batch(3501, 10)}, boom, value.Row{[]byte("3510")}, true)
	require.ErrorIs(t, err, boom)

	db := e.srv.DB(t, e.dst)
	require.Equal(t, 2500, count(t, db, "t"))
	var g int
	require.NoError(t, db.QueryRow("SELECT g FROM t WHERE id = 7").Scan(&g))
	require.Equal(t, 14, g, "generated columns are computed by the target")
	got, err := sink.LoadState(e.ctx, jobID)
	require.NoError(t, err)
	require.Equal(t, []connector.Partition{{No: 0, Last: value.Row{[]byte("2500")}, Rows: 2500}}, got.Tables["src.t"].Partitions)

	// An empty last chunk keeps the last key and marks the partition done.
	n, err = write(nil, nil, nil, true)
	require.NoError(t, err)
	require.Zero(t, n)
	got, err = sink.LoadState(e.ctx, jobID)
	require.NoError(t, err)
	require.Equal(t, []connector.Partition{{No: 0, Last: value.Row{[]byte("2500")}, Rows: 2500, Done: true}}, got.Tables["src.t"].Partitions)
}

func itoa(i int) string { return string(strconvAppend(nil, i)) }

func strconvAppend(b []byte, i int) []byte {
	if i >= 10 {
		b = strconvAppend(b, i/10)
	}
	return append(b, byte('0'+i%10))
}
