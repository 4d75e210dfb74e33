package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONCarriesContextAttrs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "json", "info")
	require.NoError(t, err)
	ctx := WithAttrs(context.Background(), slog.String("request_id", "r-1"))
	log.With("component", "api").InfoContext(ctx, "hello", "n", 1)
	log.DebugContext(ctx, "dropped")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "r-1", line["request_id"])
	require.Equal(t, "api", line["component"])
	require.Equal(t, "hello", line["msg"])
}

func TestRejectsUnknownSettings(t *testing.T) {
	t.Parallel()
	_, err := New(&bytes.Buffer{}, "xml", "info")
	require.ErrorContains(t, err, "use text or json")
	_, err = New(&bytes.Buffer{}, "text", "loud")
	require.ErrorContains(t, err, "use debug, info, warn or error")
}
