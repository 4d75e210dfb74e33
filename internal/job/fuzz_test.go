package job

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
)

// FuzzDecodeValidate feeds arbitrary documents to the decoder and validator:
// they must never panic, every failure must be a coded InvalidParameter error,
// and a spec that decodes must survive a JSON round trip unchanged.
func FuzzDecodeValidate(f *testing.F) {
	for _, file := range []string{"testdata/full.yaml", "testdata/full.json"} {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("name: a\ntype: sync\nobjects: {'*': {all: true}}\n"))
	f.Add([]byte(`{"objects": {"a": {"tables": {"t": {"filter": "id = 1; DROP TABLE t"}}}}}`))
	f.Add([]byte("a: &a [1]\nb: *a\n"))
	f.Add([]byte("source: {port: ${env:P}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		env := DecodeOptions{LookupEnv: func(string) (string, bool) { return "5432", true }}
		s, err := Decode(data, env)
		if err != nil {
			require.Equal(t, errs.InvalidParameter, errs.CodeOf(err), "%v", err)
			return
		}
		if err := s.Validate(); err != nil {
			require.Equal(t, errs.InvalidParameter, errs.CodeOf(err), "%v", err)
			e, _ := errs.As(err)
			require.NotEmpty(t, e.Fields)
		}
		first, err := json.Marshal(s)
		require.NoError(t, err)
		again, err := DecodeJSON(first)
		require.NoError(t, err, "%s", first)
		second, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(first), string(second))
		s.Normalize()
		_ = s.Validate()
	})
}
