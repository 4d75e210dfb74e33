package runner_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// Every value arrives identical through incremental sync, in all four
// directions: rows inserted, updated (every column, or only a small one
// next to TOASTed values), moved to another key and deleted while the job
// follows the source end up on the target exactly as the full load wrote
// the same values (types_cdc_fixtures_test.go, types_cdc_changes_test.go).
// A MariaDB source with the default binlog_row_metadata=NO_LOG and a time
// zone other than UTC does the same for both targets, with a schema change
// (a column added, another moved) between the events, all read after it:
// the events before it decode only with the schema history.
func TestSyncCarriesEveryType(t *testing.T) {
	t.Parallel()
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			h, tables := startTypesSync(t, src, dst, "types-"+d.name[:4]+"-"+d.name[len(d.name)-4:])
			for _, tb := range tables {
				beforeChanges(t, src, tb)
				afterChanges(t, src, tb)
			}
			requireCarried(t, h, src, dst, tables, 100, 200, 300, 500)
		})
	}
	t.Run("mariadb_nolog", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG", Args: []string{"--default-time-zone=+05:30"}})
		var meta string
		require.NoError(t, srv.DB(t, "").QueryRow("SELECT @@binlog_row_metadata").Scan(&meta))
		require.Equal(t, "NO_LOG", meta)
		for _, d := range []struct {
			name string
			dst  func(testing.TB) *testenv.Server
		}{{"to_mariadb", testenv.MariaDB}, {"to_postgresql", testenv.Postgres}} {
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				src, dst := newSide(t, srv), newSide(t, d.dst(t))
				h, tables := startTypesSync(t, src, dst, "types-nolog-"+d.name[3:7])
				// Stopped, so that the job reads every event after the
				// schema change, when the server's structure is the new one.
				h.stop()
				for _, tb := range tables {
					beforeChanges(t, src, tb)
				}
				src.exec(t, "ALTER TABLE types ADD COLUMN extra VARCHAR(20) NOT NULL DEFAULT 'e😀' AFTER ti,"+
					" MODIFY COLUMN biu BIGINT UNSIGNED AFTER id, MODIFY COLUMN ts TIMESTAMP(6) NULL DEFAULT NULL AFTER note")
				tables[0].cols = append(tables[0].cols, "extra")
				for _, tb := range tables {
					afterChanges(t, src, tb)
					txn(t, src, tb, copyGroup(src, tb, 700))
				}
				h = startRun(t, nil, "types-"+src.database, syncSpec("types-nolog-"+d.name[3:7], src, dst))
				requireCarried(t, h, src, dst, tables, 100, 200, 300, 500, 700)
			})
		}
	})
}

// startTypesSync fills the source with the type tables and starts a sync
// job, returning once it follows the source.
func startTypesSync(t *testing.T, src, dst side, name string) (*running, []cdcTable) {
	same := src.srv.Engine == dst.srv.Engine
	var tables []cdcTable
	if src.mysql() {
		tables = mysqlTypeTables(t, src, same)
	} else {
		tables = pgTypeTables(t, src, same)
	}
	return startRun(t, nil, "types-"+src.database, syncSpec(name, src, dst)), tables
}

// requireCarried waits until every table on the target holds exactly the
// rows of carried(groups): each equal, value for value, to the base row
// the full load carried. A sync on one engine must also end with the
// target equal to the source.
func requireCarried(t *testing.T, h *running, src, dst side, tables []cdcTable, groups ...int) {
	t.Helper()
	for _, tb := range tables {
		want := carried(tb, groups...)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			select {
			case err := <-h.done:
				h.done <- err
				t.Fatalf("the run ended: %v", err)
			default:
			}
			diff := carriedDiff(t, dst, tb.name, want)
			if diff == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("table %s on the target:\n%s\nstatus %s", tb.name, diff, h.p.Status())
			}
			time.Sleep(100 * time.Millisecond) // poll interval under the deadline above
		}
		if src.srv.Engine == dst.srv.Engine {
			waitSame(t, h, src, dst, tb.name, tb.name)
		}
	}
}

// carriedDiff describes how the target's table differs from want, "" when
// it does not.
func carriedDiff(t *testing.T, dst side, table string, want map[int]int) string {
	if !tryTable(t, dst, table) {
		return "no table yet"
	}
	cols, rows := readTable(t, dst, table)
	id := slices.Index(cols, "id")
	byID := map[int]value.Row{}
	for _, r := range rows {
		n, err := strconv.Atoi(string(r[id]))
		require.NoError(t, err)
		byID[n] = r
	}
	got, wantIDs := slices.Sorted(maps.Keys(byID)), slices.Sorted(maps.Keys(want))
	if !slices.Equal(got, wantIDs) {
		return fmt.Sprintf("row ids %v, want %v", got, wantIDs)
	}
	var diffs []string
	for _, n := range wantIDs {
		row, base := byID[n], byID[want[n]]
		for c := range cols {
			if c != id && show(row[c]) != show(base[c]) {
				diffs = append(diffs, fmt.Sprintf("row %d column %s: %s, the full load carried %s", n, cols[c], brief(row[c]), brief(base[c])))
			}
		}
	}
	return strings.Join(diffs, "\n")
}

// brief shows a value, cut short when long.
func brief(v []byte) string {
	if len(v) > 120 {
		return fmt.Sprintf("%s… (%d bytes)", show(v[:120]), len(v))
	}
	return show(v)
}
