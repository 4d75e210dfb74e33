package change

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePositionReadsString(t *testing.T) {
	t.Parallel()
	for _, p := range []Position{
		{Engine: "postgresql", LSN: 0x1_0000_00AB},
		{Engine: "postgresql", LSN: 0},
		{Engine: "mysql", File: "binlog.000042", Pos: 1234},
		{Engine: "mysql", Flavor: "mariadb", File: "mysql-bin.000001", Pos: 4, GTIDSet: "0-1-77,1-2-3"},
	} {
		got, err := ParsePosition(p.String())
		require.NoError(t, err, p.String())
		require.Zero(t, Compare(p, got), "%s read back as %s", p, got)
		require.Equal(t, p.String(), got.String())
	}
	for _, bad := range []string{"", "lsn:", "lsn:1/zz", "binlog:", "binlog:f", "binlog:f:x", "gtid:0-1-2", "(none)"} {
		_, err := ParsePosition(bad)
		require.Error(t, err, bad)
	}
}
