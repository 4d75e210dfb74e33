package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Spelling the logical types of another engine's columns in MySQL
// (docs/design/full-load.md, "PostgreSQL → MySQL").

// mapType spells a logical type in MySQL. reason explains a loss; fatal
// says no value can be held.
func (m *pgMapper) mapType(src schema.Type) (t schema.Type, fatal bool, reason string) {
	k := src.Kind
	switch k {
	case schema.KindBool:
		return schema.Type{Kind: schema.KindInt8, Raw: "tinyint(1)"}, false, ""
	case schema.KindInt8, schema.KindInt16, schema.KindInt24, schema.KindInt32, schema.KindInt64:
		raw := map[schema.Kind]string{schema.KindInt8: "tinyint", schema.KindInt16: "smallint", schema.KindInt24: "mediumint",
			schema.KindInt32: "int", schema.KindInt64: "bigint"}[k]
		if src.Unsigned {
			raw += " unsigned"
		}
		return schema.Type{Kind: k, Unsigned: src.Unsigned, Raw: raw}, false, ""
	case schema.KindYear:
		return schema.Type{Kind: k, Raw: "year"}, false, ""
	case schema.KindDecimal, schema.KindMoney:
		p, s := src.Precision, src.Scale
		if k == schema.KindMoney {
			p, s = 19, 2
		}
		if p >= 1 && p <= 65 && s >= 0 && s <= 30 && s <= p {
			return decimalType(p, s, src.Unsigned), false, ""
		}
		what := "unconstrained numeric"
		if p > 0 {
			what = fmt.Sprintf("numeric(%d,%d)", p, s)
		}
		return decimalType(65, 30, src.Unsigned), false, what + " becomes DECIMAL(65,30): values with more than 35 integer " +
			"or 30 fraction digits, NaN and ±Infinity fail loudly"
	case schema.KindFloat32:
		return schema.Type{Kind: k, Raw: "float"}, false, ""
	case schema.KindFloat64:
		return schema.Type{Kind: k, Raw: "double"}, false, ""
	case schema.KindChar:
		if src.Length >= 1 && src.Length <= 255 {
			return schema.Type{Kind: k, Length: src.Length, Raw: fmt.Sprintf("char(%d)", src.Length)}, false, ""
		}
		return varchar(src.Length), false, ""
	case schema.KindVarChar:
		return varchar(src.Length), false, ""
	case schema.KindText, schema.KindXML, schema.KindArray:
		return longtext(), false, ""
	case schema.KindBinary, schema.KindVarBinary, schema.KindBlob:
		return schema.Type{Kind: schema.KindBlob, Size: schema.SizeLong, Raw: "longblob"}, false, ""
	case schema.KindDate:
		return schema.Type{Kind: k, Raw: "date"}, false, ""
	case schema.KindTime:
		return temporal(k, "time", src.FSP), false, ""
	case schema.KindDateTime, schema.KindTimestamp: // timestamptz: DATETIME holding UTC (TIMESTAMP ends in 2038)
		return temporal(schema.KindDateTime, "datetime", src.FSP), false, ""
	case schema.KindTimeTZ:
		return varchar(32), false, ""
	case schema.KindInterval:
		return varchar(64), false, ""
	case schema.KindJSON:
		t := schema.Type{Kind: k, Raw: "json"}
		if !m.srv.mariadb {
			return t, false, "MySQL's JSON type stores documents normalized (key order, duplicate keys, spacing): " +
				"the copied text can differ from the source's while the document is the same"
		}
		return t, false, ""
	case schema.KindEnum:
		return schema.Type{Kind: k, Values: src.Values, Raw: "enum" + labelList(src.Values)}, false, ""
	case schema.KindSet:
		return schema.Type{Kind: k, Values: src.Values, Raw: "set" + labelList(src.Values)}, false, ""
	case schema.KindBit:
		if !src.VarBit && src.Length >= 1 && src.Length <= 64 {
			return schema.Type{Kind: k, Length: src.Length, Raw: fmt.Sprintf("bit(%d)", src.Length)}, false, ""
		}
		return varchar(src.Length), false, ""
	case schema.KindUUID:
		return schema.Type{Kind: schema.KindChar, Length: 36, Raw: "char(36)"}, false, ""
	case schema.KindInet, schema.KindCidr:
		return varchar(43), false, ""
	case schema.KindMacAddr:
		return varchar(23), false, "" // macaddr8 prints 23 characters
	case schema.KindUnknown:
		if textFormTypes[strings.ToLower(baseTypeName(src.Raw))] {
			return longtext(), false, ""
		}
	}
	return longtext(), true, fmt.Sprintf("MySQL has no type that holds %s values (extension types such as PostGIS are not supported)", src.String())
}

// textFormTypes are PostgreSQL types without a logical kind whose text form
// a LONGTEXT keeps.
var textFormTypes = map[string]bool{
	"tsvector": true, "tsquery": true, "hstore": true, "int4range": true, "int8range": true, "numrange": true,
	"tsrange": true, "tstzrange": true, "daterange": true, "int4multirange": true, "int8multirange": true,
	"nummultirange": true, "tsmultirange": true, "tstzmultirange": true, "datemultirange": true,
	"point": true, "line": true, "lseg": true, "box": true, "path": true, "polygon": true, "circle": true,
	"pg_lsn": true, "txid_snapshot": true, "pg_snapshot": true, "oid": true, "regclass": true, "regproc": true,
	"regtype": true, "name": true, "citext": true, "ltree": true,
}

// baseTypeName strips a schema and arguments: "public.hstore" → "hstore".
func baseTypeName(raw string) string {
	if i := strings.IndexByte(raw, '('); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.LastIndexByte(raw, '.'); i >= 0 {
		raw = raw[i+1:]
	}
	return strings.Trim(strings.TrimSpace(raw), `"`)
}

func decimalType(p, s int, unsigned bool) schema.Type {
	raw := fmt.Sprintf("decimal(%d,%d)", p, s)
	if unsigned {
		raw += " unsigned"
	}
	return schema.Type{Kind: schema.KindDecimal, Precision: p, Scale: s, Unsigned: unsigned, Raw: raw}
}

// varchar returns VARCHAR(n), or LONGTEXT for an unbounded length.
func varchar(n int) schema.Type {
	if n <= 0 {
		return longtext()
	}
	if n > maxVarchar {
		return textFor(n)
	}
	return schema.Type{Kind: schema.KindVarChar, Length: n, Raw: fmt.Sprintf("varchar(%d)", n)}
}

// maxVarchar is the longest utf8mb4 VARCHAR a row can hold (65,535 bytes, 4 per character).
const maxVarchar = 16383

// textFor returns the smallest TEXT class that holds n utf8mb4 characters.
func textFor(n int) schema.Type {
	switch {
	case n*4 <= 255:
		return schema.Type{Kind: schema.KindText, Size: schema.SizeTiny, Raw: "tinytext"}
	case n*4 <= 65535:
		return schema.Type{Kind: schema.KindText, Size: schema.SizeNormal, Raw: "text"}
	case n*4 <= 16777215:
		return schema.Type{Kind: schema.KindText, Size: schema.SizeMedium, Raw: "mediumtext"}
	}
	return longtext()
}

func longtext() schema.Type {
	return schema.Type{Kind: schema.KindText, Size: schema.SizeLong, Raw: "longtext"}
}

func temporal(k schema.Kind, name string, fsp int) schema.Type {
	fsp = min(max(fsp, 0), 6)
	raw := name
	if fsp > 0 {
		raw += "(" + strconv.Itoa(fsp) + ")"
	}
	return schema.Type{Kind: k, FSP: fsp, Raw: raw}
}
