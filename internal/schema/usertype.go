package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ParseUserType reads a column type a user wrote in a job file (the type of
// an added column, add_columns[].type) in the target's dialect: mysql (MySQL
// and MariaDB) or postgresql. Only types whose values dts can produce and
// every sink can write are accepted; Raw keeps the text as written, so the
// target gets exactly the type the user asked for.
func ParseUserType(mysql bool, text string) (Type, error) {
	m := userTypeRE.FindStringSubmatch(strings.ToLower(strings.Join(strings.Fields(text), " ")))
	if m == nil {
		return Type{}, fmt.Errorf("%q is not a type dts can fill; use an integer, decimal, char/varchar/text, date, datetime or timestamp type", text)
	}
	name, args, suffix := m[1], m[2], m[3]
	var nums []int
	for _, a := range strings.Split(args, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 || n > 1<<24 {
			return Type{}, fmt.Errorf("%q: %q is not a type parameter", text, a)
		}
		nums = append(nums, n)
	}
	t := Type{Raw: strings.TrimSpace(text)}
	unsigned := false
	switch suffix {
	case "":
	case "unsigned":
		unsigned = true
	case "with time zone", "without time zone":
		if mysql || (name != "timestamp" && name != "time") {
			return Type{}, fmt.Errorf("%q: %q does not apply here", text, suffix)
		}
	default:
		return Type{}, fmt.Errorf("%q: %q is not understood", text, suffix)
	}
	if unsigned && !mysql {
		return Type{}, fmt.Errorf("%q: PostgreSQL has no unsigned types", text)
	}
	params := func(min, max int) error {
		if len(nums) < min || len(nums) > max {
			return fmt.Errorf("%q: wrong number of parameters", text)
		}
		return nil
	}
	var err error
	switch name {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "int2", "int4", "int8":
		t.Kind = map[string]Kind{"tinyint": KindInt8, "smallint": KindInt16, "int2": KindInt16, "mediumint": KindInt24,
			"int": KindInt32, "integer": KindInt32, "int4": KindInt32, "bigint": KindInt64, "int8": KindInt64}[name]
		t.Unsigned = unsigned
		if (name == "tinyint" || name == "mediumint") && !mysql || strings.HasPrefix(name, "int") && len(name) == 4 && mysql {
			return Type{}, fmt.Errorf("%q is not a type of the target's dialect", text)
		}
		if mysql {
			err = params(0, 1) // display width
		} else {
			err = params(0, 0)
		}
	case "decimal", "numeric":
		t.Kind = KindDecimal
		if err = params(0, 2); err == nil {
			t.Precision, t.Scale = 10, 0
			if !mysql {
				t.Precision = 0 // unconstrained
			}
			if len(nums) > 0 {
				t.Precision = nums[0]
			}
			if len(nums) > 1 {
				t.Scale = nums[1]
			}
			if t.Precision < 1 && len(nums) > 0 || t.Scale > t.Precision && t.Precision > 0 {
				err = fmt.Errorf("%q: precision and scale are out of range", text)
			}
		}
	case "char", "character", "varchar", "character varying":
		t.Kind = KindVarChar
		if name == "char" || name == "character" {
			t.Kind = KindChar
		}
		if err = params(0, 1); err == nil {
			switch {
			case len(nums) == 1 && nums[0] > 0:
				t.Length = nums[0]
			case t.Kind == KindChar:
				t.Length = 1
			case mysql:
				err = fmt.Errorf("%q: varchar needs a length, e.g. varchar(64)", text)
			}
		}
	case "text", "tinytext", "mediumtext", "longtext":
		t.Kind, t.Size = KindText, map[string]SizeClass{"tinytext": SizeTiny, "text": SizeNormal, "mediumtext": SizeMedium, "longtext": SizeLong}[name]
		if name != "text" && !mysql {
			return Type{}, fmt.Errorf("%q is not a PostgreSQL type", text)
		}
		err = params(0, 0)
	case "date":
		t.Kind = KindDate
		err = params(0, 0)
	case "datetime", "timestamp", "timestamptz":
		switch {
		case name == "datetime" && !mysql:
			return Type{}, fmt.Errorf("%q is not a PostgreSQL type: use timestamp", text)
		case name == "timestamptz" && mysql:
			return Type{}, fmt.Errorf("%q is not a MySQL type: use timestamp or datetime", text)
		}
		t.Kind = KindDateTime
		if name == "timestamptz" || suffix == "with time zone" || mysql && name == "timestamp" {
			t.Kind = KindTimestamp
		}
		if err = params(0, 1); err == nil && len(nums) == 1 {
			t.FSP = nums[0]
			if t.FSP > 6 {
				err = fmt.Errorf("%q: at most 6 fractional digits", text)
			}
		}
	case "boolean", "bool":
		if mysql {
			return Type{}, fmt.Errorf("%q: MySQL has no boolean type; use tinyint(1)", text)
		}
		t.Kind = KindBool
		err = params(0, 0)
	default:
		return Type{}, fmt.Errorf("%q is not a type dts can fill; use an integer, decimal, char/varchar/text, date, datetime or timestamp type", text)
	}
	if err != nil {
		return Type{}, err
	}
	return t, nil
}

var userTypeRE = regexp.MustCompile(`^(tinyint|smallint|mediumint|integer|int2|int4|int8|int|bigint|decimal|numeric|` +
	`character varying|character|char|varchar|tinytext|mediumtext|longtext|text|date|datetime|timestamptz|timestamp|boolean|bool)` +
	`\s*(?:\(([\d\s,]*)\))?\s*(unsigned|with time zone|without time zone)?$`)
