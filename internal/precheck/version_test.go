package precheck

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// TestServerVersions: what the installed servers report (MariaDB's
// VERSION(), "10.11.x-MariaDB-0+deb12u1-log"; PostgreSQL's
// server_version_num) is read as the right product and version, and passes.
// The failing branch needs MariaDB < 10.2, MySQL < 5.7 or PostgreSQL < 12,
// which Debian 12 does not ship: TestVersions feeds it the version strings
// such servers report.
func TestServerVersions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		srv      *testenv.Server
		database string
		product  string
		major    int
	}{
		{testenv.MariaDB(t), "", "MariaDB", 10},
		{testenv.Postgres(t), "postgres", "PostgreSQL", 15},
	} {
		e := newEnv(t.Context(), nil, Options{Logger: slog.New(slog.DiscardHandler)})
		d, err := e.openDB(t.Context(), tc.srv.Endpoint(tc.database))
		require.NoError(t, err)
		t.Cleanup(e.close)
		require.Equal(t, tc.product, d.version.product(), d.version.text)
		require.Equal(t, tc.major, d.version.major, d.version.text)
		o := versionOutcome(d.version)
		require.Equal(t, Passed, o.Status, o.Message)
		require.Contains(t, o.Message, d.version.text)
	}
}
