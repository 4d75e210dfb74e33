package mysql

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// MariaDB shows ENUM and SET labels (information_schema.COLUMNS.COLUMN_TYPE,
// SHOW CREATE TABLE) through utf8mb3: a character beyond the Basic
// Multilingual Plane (an emoji, a rare CJK ideograph) comes out as '?',
// although the table keeps the label intact and its rows hold it. Taken as
// shown, the target's column would get a '?' label, and a binlog without
// row metadata (MariaDB's default binlog_row_metadata=NO_LOG) would decode
// '😀' as '?' without a word. So labels shown with a '?' in a column whose
// character set has such characters are read again from the server's own
// type: a temporary table made from the column takes every label's index
// and gives the labels back as stored. Under binlog_format=ROW nothing of
// a temporary table is binlogged.

// wideCharsets are the character sets with characters beyond the BMP.
var wideCharsets = map[string]bool{"utf8mb4": true, "utf16": true, "utf16le": true, "utf32": true, "gb18030": true}

// labelTable is the temporary table labels are read through.
const labelTable = "dts_labels"

// readWideLabels reads again the labels information_schema may have shown
// with '?' for characters it cannot print.
func (c *catalog) readWideLabels(ctx context.Context, db string, tables map[string]*schema.Table) error {
	for _, t := range tables {
		if t == nil {
			continue
		}
		for i := range t.Columns {
			col := &t.Columns[i]
			if !mayHideLabels(col) {
				continue
			}
			labels, err := c.storedLabels(ctx, db, t.Name, col)
			if err != nil {
				return fmt.Errorf("table %s column %s: information_schema shows its labels as %q, '?' standing for any character "+
					"beyond utf8mb3; dts reads them through a temporary table (privilege CREATE TEMPORARY TABLES on %s): %w",
					t, col.Name, col.Type.Values, db, err)
			}
			col.Type.Values = labels
			col.Type.Raw = labelType(col.Type.Kind, labels)
		}
	}
	return nil
}

// mayHideLabels reports whether the column's labels as shown may stand
// for others: an ENUM or SET label with '?' in a wide character set.
func mayHideLabels(c *schema.Column) bool {
	if (c.Type.Kind != schema.KindEnum && c.Type.Kind != schema.KindSet) || !wideCharsets[strings.ToLower(c.Charset)] {
		return false
	}
	return slices.ContainsFunc(c.Type.Values, func(l string) bool { return strings.Contains(l, "?") })
}

// storedLabels returns the column's labels as the server stores them: a
// temporary table with the column's type holds every label by its index
// (ENUM: 1..n; SET: one bit each), and reads them back as text.
func (c *catalog) storedLabels(ctx context.Context, db, table string, col *schema.Column) ([]string, error) {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tmp := quoteTable(db, labelTable)
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+" SELECT "+quoteIdent(col.Name)+" AS l FROM "+
		quoteTable(db, table)+" LIMIT 0"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TEMPORARY TABLE IF EXISTS "+tmp) //nolint:errcheck // the session's end drops it too
	n := len(col.Type.Values)
	indexes := make([]string, n)
	for i := range n {
		if col.Type.Kind == schema.KindEnum {
			indexes[i] = "(" + strconv.Itoa(i+1) + ")"
		} else {
			indexes[i] = "(" + strconv.FormatUint(1<<i, 10) + ")"
		}
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+tmp+" (l) VALUES "+strings.Join(indexes, ",")); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, "SELECT CAST(l + 0 AS UNSIGNED), l FROM "+tmp)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	labels, seen := make([]string, n), make([]bool, n)
	got := 0
	for rows.Next() {
		var index uint64
		var label string
		if err := rows.Scan(&index, &label); err != nil {
			return nil, err
		}
		i := int(index) - 1
		if col.Type.Kind == schema.KindSet {
			i = bitIndex(index)
		}
		if i < 0 || i >= n || seen[i] {
			return nil, fmt.Errorf("label index %d read back from %d labels", index, n)
		}
		labels[i], seen[i] = label, true
		got++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if got != n {
		return nil, fmt.Errorf("%d labels read back, want %d", got, n)
	}
	return labels, nil
}

// bitIndex is the position of a one-bit value's bit, -1 for other values.
func bitIndex(v uint64) int {
	if v == 0 || v&(v-1) != 0 {
		return -1
	}
	i := 0
	for v > 1 {
		v >>= 1
		i++
	}
	return i
}

// labelType renders an ENUM or SET type as COLUMN_TYPE does.
func labelType(kind schema.Kind, labels []string) string {
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = quoteString(l)
	}
	name := "enum"
	if kind == schema.KindSet {
		name = "set"
	}
	return name + "(" + strings.Join(quoted, ",") + ")"
}
