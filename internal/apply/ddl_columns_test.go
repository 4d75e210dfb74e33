package apply_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// A column's new type holds after a schema change on every worker: each
// one had written the table with the old type before (PostgreSQL prepares
// statements per connection, with parameter types of the structure then),
// and each writes values only the new type holds after it.
func TestRetypedColumnOnEveryWorker(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := basic(h, "rt")
		s := newScript()
		var rows []*change.Row
		for i := 1; i <= 40; i++ {
			rows = append(rows, ins(v1, row(i, "v", i)))
		}
		s.txn(rows...)
		rows = nil
		for i := 1; i <= 40; i++ {
			rows = append(rows, upd(v1, row(i, "v", i), row(i, "w", -i)))
		}
		s.txn(rows...)
		big := h.table("x", []tcol{{name: "n", kind: schema.KindInt64, null: true}}, nil).Columns[0]
		v2 := version(v1, func(t *schema.Table) { t.Columns[2] = big })
		s.ddl(ddl(job.DDLAlterTable, v1, v2, "ALTER TABLE rt MODIFY n BIGINT"))
		const huge = 1 << 40
		rows = nil
		for i := 41; i <= 80; i++ {
			rows = append(rows, ins(v2, row(i, "v", huge+i)))
		}
		for i := 1; i <= 40; i++ {
			rows = append(rows, upd(v2, row(i, "w", -i), row(i, "x", -huge-i)))
		}
		s.txn(rows...)
		require.NoError(t, h.apply(s, h.options(4)))
		var want []string
		for i := 1; i <= 40; i++ {
			want = append(want, fmt.Sprintf("%d|x|%d", i, -huge-i))
		}
		for i := 41; i <= 80; i++ {
			want = append(want, fmt.Sprintf("%d|v|%d", i, huge+i))
		}
		assert.Equal(t, sortStrings(want), h.dump("rt", "id", "v", "n"))
	})
}

// A value the target column cannot hold stops the job with an error that
// names the table.
func TestRefusedValueNamesTable(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "refused")
		s := newScript()
		s.txn(ins(tab, row(1, "v", 1)), ins(tab, row(2, "v", 1<<40)))
		err := h.apply(s, h.options(1))
		require.Error(t, err)
		assert.Contains(t, err.Error(), h.schema+".refused")
	})
}
