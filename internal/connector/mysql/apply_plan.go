package mysql

import (
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// How apply_write.go's statements are built for one table: its written
// columns, keys and unique keys, and the comparisons rows are found by.

// applyPlan is how one ApplyTable's rows are written.
type applyPlan struct {
	at     *connector.ApplyTable
	name   string // schema.table, for messages
	qtable string
	cols   []applyCol    // the written (not generated) columns
	keyPos []int         // positions in at.Columns of the key columns, in key order
	key    keySet        // the row key (empty without key)
	match  []matchColumn // tables without key: the columns a row is matched by
	// uniques are the other unique keys (plain columns only): a safe insert
	// deletes the rows holding the new rows' values first; with any, the
	// multi-row update (rows deleted, then inserted) is not used.
	uniques []keySet
	enums   bool // some column is an ENUM without a '' label
	maxRows int  // rows per multi-row INSERT

	insertPrefix string // INSERT INTO t (...) VALUES
	rowSQL       string // (?,?,...)

	// stages are the staging tables of staged updates (apply_stage.go),
	// by the columns they hold.
	stages map[string]*stageTable
}

// keySet is a set of columns rows are looked up by.
type keySet struct {
	pos  []int // positions in at.Columns
	cols []keyColumn
	// joined holds, for each column, the typed parameter expression of a
	// derived table of keys that joins on the column's index ("" when
	// some column's type has none: such keys are deleted one by one).
	joined []string
}

type applyCol struct {
	pos  int // in at.Columns and the rows
	name string
	typ  schema.Type
	enc  encoder
}

// matchColumn compares a column with a value exactly (tables without key).
type matchColumn struct {
	pos  int
	name string
	sql  string // "<column expression> <=> <parameter expression>"
	arg  func([]byte) (any, error)
}

func (a *applier) plan(at *connector.ApplyTable) (*applyPlan, error) {
	if p, ok := a.plans[at]; ok {
		return p, nil
	}
	t := at.Table
	if len(at.SourceTypes) != len(at.Columns) {
		return nil, fmt.Errorf("apply %s: %d source types for %d columns", t, len(at.SourceTypes), len(at.Columns))
	}
	p := &applyPlan{at: at, name: t.String(), qtable: quoteTable(t.Schema, t.Name)}
	var names []string
	for i, name := range at.Columns {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("apply %s: the table has no column %s", t, name)
		}
		if c.Generated != nil {
			continue
		}
		p.cols = append(p.cols, applyCol{pos: i, name: name, typ: c.Type, enc: encoderFor(*c, at.SourceTypes[i], a.s.srv.mariadb)})
		names = append(names, name)
		if c.Type.Kind == schema.KindEnum && enumIndex(c.Type.Values, "") == 0 {
			p.enums = true
		}
	}
	if len(p.cols) == 0 {
		return nil, fmt.Errorf("apply %s: no column to write", t)
	}
	var err error
	if p.key, err = p.keySet(at.Key); err != nil {
		return nil, err
	}
	p.keyPos = p.key.pos
	if len(at.Key) == 0 {
		for _, c := range p.cols {
			col, _ := t.Column(c.name)
			p.match = append(p.match, matchFor(c.pos, *col, a.s.srv.mariadb))
		}
	}
	uniques := t.Indexes
	if len(t.PrimaryKey) > 0 {
		uniques = append([]schema.Index{{Unique: true, Columns: keyParts(t.PrimaryKey)}}, uniques...)
	}
	for _, ix := range uniques {
		if !ix.Unique || ix.OnColumns(at.Key) {
			continue
		}
		var names []string
		for _, c := range ix.Columns {
			if c.Expr != "" || c.Length > 0 || indexOf(at.Columns, c.Name) < 0 {
				names = nil
				break
			}
			names = append(names, c.Name)
		}
		if names == nil {
			continue
		}
		ks, err := p.keySet(names)
		if err != nil {
			return nil, err
		}
		p.uniques = append(p.uniques, ks)
	}
	p.insertPrefix = "INSERT INTO " + p.qtable + " (" + quoteIdents(names) + ") VALUES "
	p.rowSQL = "(" + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + ")"
	maxParams := min(65535, max(a.s.maxPacket/1024, 1024))
	p.maxRows = max(1, min(a.s.batchRows, maxParams/len(names)))
	if len(a.plans) >= maxApplyPlans {
		clear(a.plans)
	}
	a.plans[at] = p
	return p, nil
}

// keySet returns the lookup of rows by columns names (among at.Columns).
func (p *applyPlan) keySet(names []string) (keySet, error) {
	var ks keySet
	for _, k := range names {
		i := indexOf(p.at.Columns, k)
		if i < 0 {
			return ks, fmt.Errorf("apply %s: key column %s is not among the written columns", p.name, k)
		}
		ks.pos = append(ks.pos, i)
	}
	var err error
	if ks.cols, err = keyColumns(p.at.Table, names); err != nil {
		return ks, fmt.Errorf("apply %s: %w", p.name, err)
	}
	for _, name := range names {
		c, _ := p.at.Table.Column(name)
		expr := joinParam(*c, p.at.Table)
		if expr == "" {
			ks.joined = nil
			break
		}
		ks.joined = append(ks.joined, expr)
	}
	return ks, nil
}

// joinParam returns the parameter expression whose value compares with
// column c in the column's own type, so that a join on it looks rows up
// through the column's index; "" for types where MySQL would compare
// otherwise (and scan).
func joinParam(c schema.Column, t *schema.Table) string {
	switch k := c.Type.Kind; {
	case c.Type.IsInteger() || k == schema.KindBool:
		return "?"
	case k == schema.KindDecimal:
		return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", max(c.Type.Precision, 1), c.Type.Scale)
	case c.Type.IsBinary() || c.Type.Binary:
		return "CAST(? AS BINARY)"
	case k == schema.KindChar || k == schema.KindVarChar || k == schema.KindText:
		coll := c.Collation
		if coll == "" {
			coll = t.Collation
		}
		charset := c.Charset
		if charset == "" {
			charset, _, _ = strings.Cut(coll, "_")
		}
		if isPlainName(charset) && isPlainName(coll) {
			return "CONVERT(? USING " + charset + ") COLLATE " + coll
		}
	}
	return ""
}

func keyParts(cols []string) []schema.IndexColumn {
	out := make([]schema.IndexColumn, len(cols))
	for i, c := range cols {
		out[i] = schema.IndexColumn{Name: c}
	}
	return out
}

// matchFor returns the exact comparison of column c: text byte for byte in
// the column's charset (a collation would match 'a' with 'A' or 'a '),
// numbers and temporal values in their own type, JSON as JSON.
func matchFor(pos int, c schema.Column, mariadb bool) matchColumn {
	m := matchColumn{pos: pos, name: c.Name, arg: keyArg(c.Type)}
	col := quoteIdent(c.Name)
	switch {
	case c.Type.Kind == schema.KindJSON && !mariadb:
		m.sql = col + " <=> CAST(? AS JSON)"
		m.arg = func(b []byte) (any, error) { return string(b), nil }
	case (c.Type.Kind == schema.KindVarChar || c.Type.Kind == schema.KindText || c.Type.Kind == schema.KindJSON) &&
		!c.Type.Binary && isPlainName(c.Charset):
		m.sql = "CAST(" + col + " AS BINARY) <=> CAST(CONVERT(? USING " + c.Charset + ") AS BINARY)"
		m.arg = func(b []byte) (any, error) { return string(b), nil }
	case c.Type.Kind == schema.KindDecimal:
		m.sql = col + fmt.Sprintf(" <=> CAST(? AS DECIMAL(%d,%d))", max(c.Type.Precision, 1), c.Type.Scale)
	case c.Type.Kind == schema.KindVarChar || c.Type.Kind == schema.KindText || c.Type.Kind == schema.KindChar:
		m.sql = col + " <=> ?"
		m.arg = func(b []byte) (any, error) { return string(b), nil }
	default:
		m.sql = col + " <=> ?"
	}
	return m
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
