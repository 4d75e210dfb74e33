package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// columnType reads a column's type from information_schema.COLUMNS:
// DATA_TYPE ("varchar") and COLUMN_TYPE ("varchar(20)", "int(10) unsigned",
// "enum('a','b')"), with the column's charset. Raw is COLUMN_TYPE verbatim.
// MariaDB's JSON (a LONGTEXT with a json_valid CHECK) is recognised by the
// caller, which sees the constraints.
func columnType(dataType, columnType, charset string) (schema.Type, error) {
	t := schema.Type{Raw: columnType}
	lower := strings.ToLower(columnType)
	t.Unsigned = strings.Contains(lower, " unsigned")
	args := typeArgs(lower)
	switch strings.ToLower(dataType) {
	case "tinyint":
		t.Kind = schema.KindInt8
	case "smallint":
		t.Kind = schema.KindInt16
	case "mediumint":
		t.Kind = schema.KindInt24
	case "int", "integer":
		t.Kind = schema.KindInt32
	case "bigint":
		t.Kind = schema.KindInt64
	case "decimal", "numeric", "fixed":
		t.Kind = schema.KindDecimal
		t.Precision, t.Scale = 10, 0 // DECIMAL is DECIMAL(10,0)
		if len(args) > 0 {
			t.Precision = atoi(args[0])
		}
		if len(args) > 1 {
			t.Scale = atoi(args[1])
		}
	case "float":
		t.Kind = schema.KindFloat32
	case "double", "real", "double precision":
		t.Kind = schema.KindFloat64
	case "char":
		t.Kind, t.Length = schema.KindChar, argOr(args, 1)
	case "varchar":
		t.Kind, t.Length = schema.KindVarChar, argOr(args, 0)
	case "tinytext":
		t.Kind, t.Size = schema.KindText, schema.SizeTiny
	case "text":
		t.Kind, t.Size = schema.KindText, schema.SizeNormal
	case "mediumtext":
		t.Kind, t.Size = schema.KindText, schema.SizeMedium
	case "longtext":
		t.Kind, t.Size = schema.KindText, schema.SizeLong
	case "binary":
		t.Kind, t.Length = schema.KindBinary, argOr(args, 1)
	case "varbinary":
		t.Kind, t.Length = schema.KindVarBinary, argOr(args, 0)
	case "tinyblob":
		t.Kind, t.Size = schema.KindBlob, schema.SizeTiny
	case "blob":
		t.Kind, t.Size = schema.KindBlob, schema.SizeNormal
	case "mediumblob":
		t.Kind, t.Size = schema.KindBlob, schema.SizeMedium
	case "longblob":
		t.Kind, t.Size = schema.KindBlob, schema.SizeLong
	case "date":
		t.Kind = schema.KindDate
	case "time":
		t.Kind, t.FSP = schema.KindTime, argOr(args, 0)
	case "datetime":
		t.Kind, t.FSP = schema.KindDateTime, argOr(args, 0)
	case "timestamp":
		t.Kind, t.FSP = schema.KindTimestamp, argOr(args, 0)
	case "year":
		t.Kind = schema.KindYear
	case "json":
		t.Kind = schema.KindJSON
	case "enum", "set":
		t.Kind = schema.KindEnum
		if strings.EqualFold(dataType, "set") {
			t.Kind = schema.KindSet
		}
		labels, err := parseLabels(columnType)
		if err != nil {
			return t, err
		}
		t.Values = labels
	case "bit":
		t.Kind, t.Length = schema.KindBit, argOr(args, 1)
	case "uuid":
		t.Kind = schema.KindUUID
	case "inet4", "inet6":
		t.Kind = schema.KindInet
	default: // geometry types, vector, anything newer: same-engine copies only
		t.Kind = schema.KindUnknown
	}
	if charset == "binary" && (t.IsText() || t.Kind == schema.KindJSON) {
		t.Binary = true
	}
	return t, nil
}

// typeArgs returns the numbers in the first parentheses of a column type:
// "decimal(10,2) unsigned" → ["10", "2"]. Not for ENUM/SET.
func typeArgs(columnType string) []string {
	open := strings.IndexByte(columnType, '(')
	if open < 0 {
		return nil
	}
	end := strings.IndexByte(columnType[open:], ')')
	if end < 0 {
		return nil
	}
	return strings.Split(columnType[open+1:open+end], ",")
}

func argOr(args []string, def int) int {
	if len(args) == 0 {
		return def
	}
	return atoi(args[0])
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// parseLabels reads the labels of "enum('a','b,c','it”s','x\\y')": each
// label a quoted literal (quotes doubled, backslashes escaped), so labels
// may hold commas, quotes and backslashes.
func parseLabels(columnType string) ([]string, error) {
	open := strings.IndexByte(columnType, '(')
	if open < 0 {
		return nil, fmt.Errorf("column type %q: no label list", columnType)
	}
	rest := columnType[open+1:]
	labels := []string{}
	for {
		label, after, ok := unquoteString(rest)
		if !ok {
			return nil, fmt.Errorf("column type %q: cannot read its labels", columnType)
		}
		labels = append(labels, label)
		switch {
		case strings.HasPrefix(after, ","):
			rest = after[1:]
		case strings.HasPrefix(after, ")"):
			return labels, nil
		default:
			return nil, fmt.Errorf("column type %q: cannot read its labels", columnType)
		}
	}
}

// labelList spells labels for ENUM(...) and SET(...).
func labelList(labels []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteString(l))
	}
	b.WriteByte(')')
	return b.String()
}
