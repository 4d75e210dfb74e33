package compare

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Repair SQL for MySQL and MariaDB targets (see repair.go).

var _ repairDialect = mysqlDialect{}

func (mysqlDialect) header() []string {
	return []string{
		"SET NAMES utf8mb4",
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES'",
		"SET SESSION foreign_key_checks = 0",
	}
}

func (d mysqlDialect) literal(c *schema.Column, v []byte) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	t := c.Type
	switch {
	case isBytes(t) || t.Kind == schema.KindUnknown:
		return "X'" + strings.ToUpper(hex.EncodeToString(v)) + "'", nil
	case t.Kind == schema.KindBit:
		if _, err := parseBits(v); err != nil {
			return "", err
		}
		return "b'" + string(v) + "'", nil
	case t.IsInteger():
		if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
			if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
				return "", fmt.Errorf("%q is not an integer", v)
			}
		}
		return string(v), nil
	case isFloat(t.Kind):
		bits := 64
		if t.Kind == schema.KindFloat32 {
			bits = 32
		}
		f, err := strconv.ParseFloat(string(v), bits)
		if err != nil {
			return "", fmt.Errorf("%q is not a number MySQL holds", v)
		}
		// A FLOAT's value spelled exactly as a double: no second rounding.
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return mysqlString(v), nil
}

// mysqlString is a string literal whatever the session's sql_mode: plain
// text quoted with doubled quotes, anything holding a backslash or a
// control character as a hex literal with the utf8mb4 introducer.
func mysqlString(v []byte) string {
	plain := true
	for _, c := range v {
		if c == '\\' || c < 0x20 || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
	}
	if len(v) == 0 {
		return "''"
	}
	return "_utf8mb4 X'" + strings.ToUpper(hex.EncodeToString(v)) + "'"
}

func (d mysqlDialect) is(c *schema.Column, valueExpr string, v []byte) (string, error) {
	if isFloat(c.Type.Kind) {
		lit, err := d.literal(c, v)
		return d.quote(c.Name) + " = " + lit, err
	}
	// The compare form, byte for byte: no collation folds case or spaces.
	// Cast, as a number or time against a hex literal is no text
	// comparison (a DECIMAL takes X'372E3530' for the integer 926823728).
	return "CAST(" + valueExpr + " AS BINARY) = X'" + strings.ToUpper(hex.EncodeToString(v)) + "'", nil
}

func (d mysqlDialect) table(t *schema.Table) string { return d.from(t) }

func (d mysqlDialect) upsert(t *schema.Table, cols, vals, key []string) string {
	var sets []string
	for _, c := range cols {
		if !containsString(key, c) {
			sets = append(sets, c+" = VALUES("+c+")")
		}
	}
	if len(sets) == 0 {
		sets = []string{key[0] + " = " + key[0]}
	}
	return "INSERT INTO " + d.from(t) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") +
		") ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}

func (d mysqlDialect) deleteOne(t *schema.Table, cond string) string {
	return "DELETE FROM " + d.from(t) + " WHERE " + cond + " LIMIT 1"
}

// afterInserts: AUTO_INCREMENT moves past explicit values by itself.
func (mysqlDialect) afterInserts(*schema.Table) []string { return nil }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
