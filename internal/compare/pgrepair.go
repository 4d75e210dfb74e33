package compare

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Repair SQL for PostgreSQL targets (see repair.go).

var _ repairDialect = pgDialect{}

func (pgDialect) header() []string {
	return []string{
		"SET client_encoding = 'UTF8'",
		"SET standard_conforming_strings = on",
		"SET TimeZone = 'UTC'",
		"SET DateStyle = 'ISO, YMD'",
		"SET IntervalStyle = 'postgres'",
	}
}

func pgString(v []byte) (string, error) {
	if bytes.IndexByte(v, 0) >= 0 {
		return "", errors.New("PostgreSQL text cannot hold NUL (0x00) characters")
	}
	return "'" + strings.ReplaceAll(string(v), "'", "''") + "'", nil
}

func (d pgDialect) literal(c *schema.Column, v []byte) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	if isBytes(c.Type) {
		return `'\x` + hex.EncodeToString(v) + `'::bytea`, nil
	}
	s, err := pgString(v)
	if err != nil {
		return "", err
	}
	return s + "::" + c.Type.Raw, nil
}

func (d pgDialect) is(c *schema.Column, valueExpr string, v []byte) (string, error) {
	if isBytes(c.Type) || isFloat(c.Type.Kind) {
		lit, err := d.literal(c, v)
		return d.quote(c.Name) + " = " + lit, err
	}
	s, err := pgString(v)
	return valueExpr + " = " + s, err // the compare form as text: every type has it
}

func (d pgDialect) table(t *schema.Table) string { return d.quote(t.Schema) + "." + d.quote(t.Name) }

func (d pgDialect) upsert(t *schema.Table, cols, vals, key []string) string {
	overriding := ""
	for _, c := range t.Columns {
		if c.Identity == "ALWAYS" {
			overriding = " OVERRIDING SYSTEM VALUE"
		}
	}
	insert := "INSERT INTO " + d.table(t) + " (" + strings.Join(cols, ", ") + ")" + overriding +
		" VALUES (" + strings.Join(vals, ", ") + ")"
	if !d.hasUnique(t, key) {
		// ON CONFLICT needs a unique index on the key (a full load that
		// stopped before the primary key was built has none).
		return insert
	}
	var sets []string
	for _, c := range cols {
		if !containsString(key, c) {
			sets = append(sets, c+" = EXCLUDED."+c)
		}
	}
	if len(sets) == 0 {
		return insert + " ON CONFLICT (" + strings.Join(key, ", ") + ") DO NOTHING"
	}
	return insert + " ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ")
}

// hasUnique reports whether t has a primary key or unique index on exactly
// the (quoted) key columns.
func (d pgDialect) hasUnique(t *schema.Table, key []string) bool {
	same := func(names []string) bool {
		if len(names) != len(key) {
			return false
		}
		for _, n := range names {
			if !containsString(key, d.quote(n)) {
				return false
			}
		}
		return true
	}
	if same(t.PrimaryKey) {
		return true
	}
	for _, ix := range t.Indexes {
		if !ix.Unique || ix.Where != "" {
			continue
		}
		var names []string
		for _, c := range ix.Columns {
			names = append(names, c.Name)
		}
		if same(names) {
			return true
		}
	}
	return false
}

func (d pgDialect) deleteOne(t *schema.Table, cond string) string {
	name := d.table(t)
	return "DELETE FROM " + name + " WHERE ctid IN (SELECT ctid FROM " + name + " WHERE " + cond + " LIMIT 1) AND " + cond
}

// afterInserts moves identity and serial sequences past the inserted keys.
func (d pgDialect) afterInserts(t *schema.Table) []string {
	var out []string
	name := d.table(t)
	for _, c := range t.Columns {
		if !c.AutoIncrement {
			continue
		}
		seq := "pg_get_serial_sequence(" + quoteText(name) + ", " + quoteText(c.Name) + ")"
		out = append(out, "SELECT setval("+seq+", m) FROM (SELECT max("+d.quote(c.Name)+") AS m FROM "+name+") x"+
			" WHERE m > COALESCE((SELECT last_value FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename) = "+seq+"), 0)")
	}
	return out
}

func quoteText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
