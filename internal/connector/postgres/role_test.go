package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A target user that may not set session_replication_role still loads,
// with one warning.
func TestSinkWithoutSuperuser(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	role := "u_" + v.db
	v.exec(t, `CREATE ROLE `+quoteIdent(role)+` LOGIN PASSWORD 'plain-pass'`,
		`GRANT CREATE ON DATABASE `+quoteIdent(v.db)+` TO `+quoteIdent(role))
	t.Cleanup(func() {
		v.srv.Exec(t, v.db, `DROP OWNED BY `+quoteIdent(role), `DROP ROLE `+quoteIdent(role))
	})
	e := v.e
	e.User, e.Password = role, "plain-pass"
	var logs syncBuffer
	sink, err := OpenSink(t.Context(), e, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	defer sink.Close()

	tab := &schema.Table{Schema: "mine", Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "integer"}},
	}}
	require.NoError(t, sink.PrepareTable(t.Context(), tab, job.ExistingFail))
	require.NoError(t, sink.Claim(t.Context(), "j", "j"))
	var wg sync.WaitGroup
	for i := range 3 { // several connections, one warning
		wg.Go(func() {
			_, err := sink.WriteChunk(context.Background(), connector.ChunkWrite{Table: tab, Columns: []string{"id"}, SourceTypes: []schema.Type{tab.Columns[0].Type}},
				batches([]value.Row{{[]byte(string(rune('1' + i)))}}, 1))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
}
