package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	tmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/pingcap/tidb/pkg/parser/types"
	"github.com/shopspring/decimal"

	"github.com/dtsorg/dts/internal/schema"
)

// Column definitions of parsed DDL as the schema model, the way
// catalog.go reads the same column from information_schema: the type goes
// through columnType with the DATA_TYPE / COLUMN_TYPE / charset the server
// would report. What row decoding needs (kind, signedness, sizes, labels,
// character set, order) is exact; the rest (Raw display widths, defaults,
// comments, expressions) is the server's spelling where dts knows it and
// the statement's otherwise.

// intWidths are MariaDB's and MySQL 5.7's default display widths (signed,
// unsigned); MySQL 8.0.19+ shows none.
var intWidths = map[byte][2]int{
	tmysql.TypeTiny: {4, 3}, tmysql.TypeShort: {6, 5}, tmysql.TypeInt24: {9, 8},
	tmysql.TypeLong: {11, 10}, tmysql.TypeLonglong: {20, 20},
}

var intNames = map[byte]string{
	tmysql.TypeTiny: "tinyint", tmysql.TypeShort: "smallint", tmysql.TypeInt24: "mediumint",
	tmysql.TypeLong: "int", tmysql.TypeLonglong: "bigint",
}

// columnFromDef returns the column def defines in a table whose default
// collation is tableColl.
func (h *schemaHistory) columnFromDef(def *ast.ColumnDef, tableColl string) (schema.Column, error) {
	ft := def.Tp
	col := schema.Column{Name: def.Name.Name.O, Nullable: true}
	dataType, colType, isText, err := h.typeNames(ft)
	if err != nil {
		return col, fmt.Errorf("column %s: %w", col.Name, err)
	}
	// Character set and collation of a text column: the column's own, the
	// binary collation of its charset for the BINARY attribute, else the table's.
	var charset, collation string
	if isText {
		collation, charset = ft.GetCollate(), ft.GetCharset()
		for _, o := range def.Options {
			if o.Tp == ast.ColumnOptionCollate {
				collation = o.StrValue
			}
		}
		switch {
		case collation != "" && !strings.EqualFold(collation, "binary"):
			collation = h.collationName(collation)
			charset = h.charsetOfCollation(collation)
		case charset != "" && !strings.EqualFold(charset, "binary"):
			charset = normalizeCharset(charset)
			collation = h.defaultCollation(charset)
		default:
			collation = tableColl
			charset = h.charsetOfCollation(tableColl)
		}
		if tmysql.HasBinaryFlag(ft.GetFlag()) && !strings.EqualFold(ft.GetCharset(), "binary") {
			collation = charset + "_bin"
		}
		switch {
		case !h.srv.mariadb && strings.EqualFold(dataType, "json"):
			charset, collation = "", ""
		case h.srv.mariadb && ft.GetType() == tmysql.TypeJSON && !explicitCollation(def):
			charset, collation = "utf8mb4", "utf8mb4_bin" // MariaDB: JSON is LONGTEXT COLLATE utf8mb4_bin
		}
	}
	typ, err := columnType(dataType, colType, charset)
	if err != nil {
		return col, fmt.Errorf("column %s: %w", col.Name, err)
	}
	if h.srv.mariadb && ft.GetType() == tmysql.TypeJSON {
		typ.Kind = schema.KindJSON // MariaDB's JSON: LONGTEXT with a json_valid CHECK
	}
	col.Type, col.Charset, col.Collation = typ, charset, collation
	var def0 ast.ExprNode
	hasDefault := false
	for _, o := range def.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
			col.Nullable = false
		case ast.ColumnOptionNull:
			col.Nullable = true
		case ast.ColumnOptionAutoIncrement:
			col.AutoIncrement = true
		case ast.ColumnOptionDefaultValue:
			def0, hasDefault = o.Expr, true
		case ast.ColumnOptionOnUpdate:
			col.OnUpdateCurrentTimestamp = true
		case ast.ColumnOptionComment:
			if v, ok := o.Expr.(*test_driver.ValueExpr); ok {
				col.Comment = v.GetString()
			}
		case ast.ColumnOptionGenerated:
			col.Generated = &schema.Generated{Expr: restoreExpr(o.Expr), Stored: o.Stored}
		}
	}
	switch {
	case col.Generated != nil || col.AutoIncrement:
	case hasDefault:
		col.Default = defaultFromExpr(def0, &col)
	case col.Nullable:
		col.Default = &schema.Default{Kind: schema.DefaultNull}
	}
	return col, nil
}

func explicitCollation(def *ast.ColumnDef) bool {
	for _, o := range def.Options {
		if o.Tp == ast.ColumnOptionCollate {
			return true
		}
	}
	return false
}

// typeNames returns information_schema's DATA_TYPE and COLUMN_TYPE for ft,
// and whether the type has a character set.
func (h *schemaHistory) typeNames(ft *types.FieldType) (dataType, colType string, isText bool, err error) {
	tp, flen, dec := ft.GetType(), ft.GetFlen(), ft.GetDecimal()
	unsigned := tmysql.HasUnsignedFlag(ft.GetFlag()) || tmysql.HasZerofillFlag(ft.GetFlag())
	binaryCS := strings.EqualFold(ft.GetCharset(), "binary")
	suffix := ""
	if unsigned {
		suffix = " unsigned"
	}
	if tmysql.HasZerofillFlag(ft.GetFlag()) {
		suffix += " zerofill"
	}
	oldWidths := h.srv.mariadb || !h.srv.atLeast(8, 0, 19)
	switch tp {
	case tmysql.TypeTiny, tmysql.TypeShort, tmysql.TypeInt24, tmysql.TypeLong, tmysql.TypeLonglong:
		dataType = intNames[tp]
		w := flen
		if w <= 0 {
			w = intWidths[tp][0]
			if unsigned {
				w = intWidths[tp][1]
			}
		}
		switch {
		case oldWidths || tmysql.HasZerofillFlag(ft.GetFlag()):
			colType = fmt.Sprintf("%s(%d)%s", dataType, w, suffix)
		case tp == tmysql.TypeTiny && flen == 1:
			colType = "tinyint(1)" + suffix
		default:
			colType = dataType + suffix
		}
	case tmysql.TypeNewDecimal:
		p, s := flen, dec
		if p <= 0 {
			p = 10
		}
		if s < 0 {
			s = 0
		}
		dataType, colType = "decimal", fmt.Sprintf("decimal(%d,%d)%s", p, s, suffix)
	case tmysql.TypeFloat, tmysql.TypeDouble:
		dataType = "float"
		if tp == tmysql.TypeDouble {
			dataType = "double"
		}
		colType = dataType
		if flen > 0 && dec >= 0 {
			colType = fmt.Sprintf("%s(%d,%d)", dataType, flen, dec)
		}
		colType += suffix
	case tmysql.TypeBit:
		n := flen
		if n <= 0 {
			n = 1
		}
		dataType, colType = "bit", fmt.Sprintf("bit(%d)", n)
	case tmysql.TypeYear:
		dataType, colType = "year", "year"
		if oldWidths {
			colType = "year(4)"
		}
	case tmysql.TypeDate, tmysql.TypeNewDate:
		dataType, colType = "date", "date"
	case tmysql.TypeDuration, tmysql.TypeDatetime, tmysql.TypeTimestamp:
		dataType = map[byte]string{tmysql.TypeDuration: "time", tmysql.TypeDatetime: "datetime", tmysql.TypeTimestamp: "timestamp"}[tp]
		colType = dataType
		if dec > 0 {
			colType = fmt.Sprintf("%s(%d)", dataType, dec)
		}
	case tmysql.TypeString:
		n := flen
		if n < 0 {
			n = 1
		}
		if binaryCS {
			dataType, colType = "binary", fmt.Sprintf("binary(%d)", n)
		} else {
			dataType, colType, isText = "char", fmt.Sprintf("char(%d)", n), true
		}
	case tmysql.TypeVarchar, tmysql.TypeVarString:
		if flen < 0 {
			return "", "", false, fmt.Errorf("VARCHAR without a length")
		}
		if binaryCS {
			dataType, colType = "varbinary", fmt.Sprintf("varbinary(%d)", flen)
		} else {
			dataType, colType, isText = "varchar", fmt.Sprintf("varchar(%d)", flen), true
		}
	case tmysql.TypeTinyBlob, tmysql.TypeBlob, tmysql.TypeMediumBlob, tmysql.TypeLongBlob:
		size := map[byte]string{tmysql.TypeTinyBlob: "tiny", tmysql.TypeBlob: "", tmysql.TypeMediumBlob: "medium", tmysql.TypeLongBlob: "long"}[tp]
		if tp == tmysql.TypeBlob && flen > 0 {
			// TEXT(n) / BLOB(n): the smallest type that holds n characters (bytes).
			bytes := flen
			if !binaryCS {
				bytes *= 4 // the server sizes by the charset's longest character; utf8mb4 at most
			}
			switch {
			case bytes < 1<<8:
				size = "tiny"
			case bytes < 1<<16:
				size = ""
			case bytes < 1<<24:
				size = "medium"
			default:
				size = "long"
			}
		}
		if binaryCS {
			dataType = size + "blob"
		} else {
			dataType, isText = size+"text", true
		}
		colType = dataType
	case tmysql.TypeEnum, tmysql.TypeSet:
		dataType = "enum"
		if tp == tmysql.TypeSet {
			dataType = "set"
		}
		colType, isText = dataType+labelList(ft.GetElems()), true
	case tmysql.TypeJSON:
		if h.srv.mariadb {
			// MariaDB's JSON is a LONGTEXT, utf8mb4_bin unless the column says otherwise.
			return "longtext", "longtext", true, nil
		}
		dataType, colType, isText = "json", "json", true
	case tmysql.TypeGeometry:
		dataType, colType = "geometry", "geometry"
	default:
		return "", "", false, fmt.Errorf("type %s is not known to dts", ft.String())
	}
	return dataType, colType, isText, nil
}

// restoreExpr returns an expression as SQL.
func restoreExpr(e ast.ExprNode) string {
	var b strings.Builder
	if err := e.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordLowercase|
		format.RestoreNameBackQuotes, &b)); err != nil {
		return ""
	}
	return b.String()
}

// defaultFromExpr classifies a DEFAULT clause as catalog.go does.
func defaultFromExpr(e ast.ExprNode, c *schema.Column) *schema.Default {
	d := defaultOf(e, c)
	if d != nil && d.Kind == schema.DefaultLiteral && c.Type.Kind == schema.KindDecimal {
		// The server stores (and reports) a DECIMAL default with the column's scale.
		if v, err := decimal.NewFromString(d.Value); err == nil {
			d.Value = v.StringFixed(int32(c.Type.Scale))
		}
	}
	return d
}

func defaultOf(e ast.ExprNode, c *schema.Column) *schema.Default {
	if v, ok := e.(*test_driver.ValueExpr); ok {
		switch v.Kind() {
		case test_driver.KindNull:
			return &schema.Default{Kind: schema.DefaultNull}
		case test_driver.KindString, test_driver.KindBytes:
			return literal(v.GetString(), c.Type)
		case test_driver.KindInt64:
			return literal(strconv.FormatInt(v.GetInt64(), 10), c.Type)
		case test_driver.KindUint64:
			return literal(strconv.FormatUint(v.GetUint64(), 10), c.Type)
		case test_driver.KindMysqlDecimal:
			return literal(v.GetMysqlDecimal().String(), c.Type)
		case test_driver.KindFloat32, test_driver.KindFloat64:
			return literal(strconv.FormatFloat(v.GetFloat64(), 'g', -1, 64), c.Type)
		case test_driver.KindBinaryLiteral:
			b := v.GetBytes()
			if c.Type.Kind == schema.KindBit {
				return literal(string(appendBits(nil, b, c.Type.Length)), c.Type)
			}
			return literal(string(b), c.Type)
		}
	}
	s := restoreExpr(e)
	if numberRe.MatchString(s) {
		return literal(s, c.Type)
	}
	if f, ok := e.(*ast.FuncCallExpr); ok && len(f.Args) <= 1 {
		name := f.FnName.L
		if currentTimestampRe.MatchString(name) || currentTimestampRe.MatchString(name+"()") {
			d := &schema.Default{Kind: schema.DefaultCurrentTimestamp}
			if len(f.Args) == 1 {
				if v, ok := f.Args[0].(*test_driver.ValueExpr); ok {
					d.FSP = int(v.GetInt64())
				}
			}
			return d
		}
	}
	return special(s)
}
