package runner_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// An ENUM's error value, the empty string that a non-strict session stores
// for a value not among the labels, reaches a MariaDB target through
// updates too, not only inserts: a one-row update into it, out of it, and
// a key change of a row holding it (each a single UPDATE on the target,
// which strict mode refused: "Data truncated for column 'e'").
func TestSyncEnumErrorValueUpdates(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE e (id INT PRIMARY KEY, e ENUM('a','b'), v INT)", "INSERT INTO e VALUES (1, 'a', 1), (2, 'b', 2), (3, 'a', 3)")
	h := startRun(t, nil, "enumerr-"+src.database, syncSpec("enumerr", src, dst))
	src.exec(t, "SET SESSION sql_mode = ''",
		"UPDATE e SET e = 'nope' WHERE id = 1",
		"INSERT INTO e VALUES (4, 'zzz', 4)",
		"UPDATE e SET e = 'b' WHERE id = 4",
		"UPDATE e SET e = 'x', v = 20 WHERE id = 2",
		"UPDATE e SET id = 30 WHERE id = 2")
	waitSame(t, h, src, dst, "e", "e")
	require.Equal(t, []string{"1||1", "30||20", "3|a|3", "4|b|4"}, rowsOf(t, dst, "e", "id", "e", "v"))
}
