package schema

import (
	"fmt"
	"strings"
)

// Kind is a logical column type: what values a column holds, independent of
// how an engine spells the type.
type Kind int

// Logical kinds. Every value of a kind has one canonical text form (see
// internal/value), the same whichever engine it came from.
const (
	KindUnknown   Kind = iota // engine-specific (Raw): same-engine copies only
	KindBool                  // true/false
	KindInt8                  // 8-bit integer (Unsigned for 0..255)
	KindInt16                 // 16-bit
	KindInt24                 // MySQL MEDIUMINT
	KindInt32                 // 32-bit
	KindInt64                 // 64-bit (Unsigned for 0..2^64-1)
	KindDecimal               // exact decimal: Precision, Scale (Precision 0: unconstrained)
	KindFloat32               // IEEE single
	KindFloat64               // IEEE double
	KindChar                  // fixed-length text: Length characters
	KindVarChar               // variable text up to Length characters
	KindText                  // unbounded text; Size says the MySQL size class
	KindBinary                // fixed-length bytes: Length
	KindVarBinary             // variable bytes up to Length
	KindBlob                  // unbounded bytes; Size says the MySQL size class
	KindDate                  // calendar date
	KindTime                  // time of day or duration: MySQL TIME spans ±838:59:59; FSP digits
	KindTimeTZ                // PostgreSQL time with time zone
	KindDateTime              // wall-clock date and time without zone; FSP digits
	KindTimestamp             // an instant (MySQL TIMESTAMP, PostgreSQL timestamptz); FSP digits
	KindYear                  // MySQL YEAR
	KindInterval              // PostgreSQL interval
	KindJSON                  // JSON document; JSONB for PostgreSQL jsonb
	KindEnum                  // one of Values
	KindSet                   // a comma-separated subset of Values (MySQL SET)
	KindBit                   // bit string: Length bits; VarBit for bit varying
	KindUUID                  // 128-bit UUID
	KindInet                  // IP address (with optional prefix)
	KindCidr                  // IP network
	KindMacAddr               // MAC address
	KindArray                 // PostgreSQL array of Elem
	KindMoney                 // PostgreSQL money
	KindXML                   // XML document
)

var kindNames = [...]string{"unknown", "bool", "int8", "int16", "int24", "int32", "int64", "decimal", "float32", "float64",
	"char", "varchar", "text", "binary", "varbinary", "blob", "date", "time", "timetz", "datetime", "timestamp", "year",
	"interval", "json", "enum", "set", "bit", "uuid", "inet", "cidr", "macaddr", "array", "money", "xml"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// SizeClass is MySQL's size class of TEXT and BLOB columns.
type SizeClass int

const (
	SizeTiny   SizeClass = iota + 1 // 255 bytes
	SizeNormal                      // 64 KiB
	SizeMedium                      // 16 MiB
	SizeLong                        // 4 GiB
)

// Type is a column's type: a logical kind with its parameters, and the
// source engine's own spelling for same-engine copies.
type Type struct {
	Kind      Kind
	Unsigned  bool
	Length    int // characters (Char, VarChar), bytes (Binary, VarBinary), bits (Bit)
	Precision int // Decimal
	Scale     int // Decimal
	FSP       int // fractional second digits, 0-6 (Time, DateTime, Timestamp, TimeTZ, Interval)
	Size      SizeClass
	Values    []string // Enum and Set labels, in order
	Elem      *Type    // Array element
	Dims      int      // Array dimensions as declared (PostgreSQL ignores them; kept for DDL)
	JSONB     bool
	VarBit    bool
	// Binary marks a MySQL text type with the binary charset (a byte string).
	Binary bool
	// Raw is the type as the source engine spells it ("int(10) unsigned",
	// "character varying(20)", "public.mood"). Same-engine copies use it verbatim.
	Raw string
	// UserType names a PostgreSQL user-defined type (enum, domain) the column
	// uses, schema-qualified, so a PostgreSQL target can create it first.
	UserType string
}

// IsInteger reports whether the kind is an integer.
func (t Type) IsInteger() bool {
	switch t.Kind {
	case KindInt8, KindInt16, KindInt24, KindInt32, KindInt64, KindYear:
		return true
	}
	return false
}

// IsTemporal reports whether the kind is a date or time.
func (t Type) IsTemporal() bool {
	switch t.Kind {
	case KindDate, KindTime, KindTimeTZ, KindDateTime, KindTimestamp, KindYear, KindInterval:
		return true
	}
	return false
}

// IsText reports whether values are character strings.
func (t Type) IsText() bool {
	switch t.Kind {
	case KindChar, KindVarChar, KindText, KindEnum, KindSet:
		return true
	}
	return false
}

// IsBinary reports whether values are byte strings.
func (t Type) IsBinary() bool {
	switch t.Kind {
	case KindBinary, KindVarBinary, KindBlob:
		return true
	}
	return false
}

// String describes the type for messages.
func (t Type) String() string {
	if t.Raw != "" {
		return t.Raw
	}
	var b strings.Builder
	b.WriteString(t.Kind.String())
	switch {
	case t.Kind == KindDecimal && t.Precision > 0:
		fmt.Fprintf(&b, "(%d,%d)", t.Precision, t.Scale)
	case t.Length > 0:
		fmt.Fprintf(&b, "(%d)", t.Length)
	case t.FSP > 0:
		fmt.Fprintf(&b, "(%d)", t.FSP)
	}
	if t.Unsigned {
		b.WriteString(" unsigned")
	}
	return b.String()
}
