package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dtsorg/dts/internal/schema"
)

// querier is what catalog reads need: a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pgType is one pg_type row.
type pgType struct {
	oid      uint32
	name     string
	nsp      string
	typtype  byte   // b base, d domain, e enum, c composite, r range, m multirange, p pseudo
	category byte   // A for arrays
	base     uint32 // domain: the base type
	typmod   int32  // domain: the base type's modifier
	elem     uint32 // array: the element type
}

// typeResolver turns column types (oid, typmod) into logical types, reading
// pg_type, pg_enum and format_type as it needs them.
type typeResolver struct {
	q      querier
	types  map[uint32]*pgType
	enums  map[uint32][]string
	format map[[2]int64]string
}

func newTypeResolver(q querier) *typeResolver {
	return &typeResolver{q: q, types: map[uint32]*pgType{}, enums: map[uint32][]string{}, format: map[[2]int64]string{}}
}

func (r *typeResolver) info(ctx context.Context, oid uint32) (*pgType, error) {
	if t, ok := r.types[oid]; ok {
		return t, nil
	}
	t := &pgType{oid: oid}
	var typtype, category string
	err := r.q.QueryRow(ctx, `SELECT t.typname, n.nspname, t.typtype::text, t.typcategory::text, t.typbasetype, t.typtypmod, t.typelem
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1`, oid).
		Scan(&t.name, &t.nsp, &typtype, &category, &t.base, &t.typmod, &t.elem)
	if err != nil {
		return nil, fmt.Errorf("read type %d: %w", oid, err)
	}
	t.typtype, t.category = typtype[0], category[0]
	r.types[oid] = t
	return t, nil
}

func (r *typeResolver) formatType(ctx context.Context, oid uint32, mod int32) (string, error) {
	k := [2]int64{int64(oid), int64(mod)}
	if s, ok := r.format[k]; ok {
		return s, nil
	}
	var s string
	if err := r.q.QueryRow(ctx, `SELECT format_type($1, $2)`, oid, mod).Scan(&s); err != nil {
		return "", fmt.Errorf("format type %d: %w", oid, err)
	}
	r.format[k] = s
	return s, nil
}

func (r *typeResolver) enumLabels(ctx context.Context, oid uint32) ([]string, error) {
	if v, ok := r.enums[oid]; ok {
		return v, nil
	}
	rows, err := r.q.Query(ctx, `SELECT enumlabel FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder`, oid)
	if err != nil {
		return nil, fmt.Errorf("read enum labels: %w", err)
	}
	labels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read enum labels: %w", err)
	}
	r.enums[oid] = labels
	return labels, nil
}

// resolve returns the logical type of (oid, mod). Raw is format_type's
// spelling, except that a domain is replaced by its base type (a target
// gets the base type); UserType names the domain or enum.
func (r *typeResolver) resolve(ctx context.Context, oid uint32, mod int32) (schema.Type, error) {
	ti, err := r.info(ctx, oid)
	if err != nil {
		return schema.Type{}, err
	}
	switch {
	case ti.typtype == 'd':
		bmod := ti.typmod
		if bmod == -1 {
			bmod = mod
		}
		t, err := r.resolve(ctx, ti.base, bmod)
		if err != nil {
			return t, err
		}
		if t.Kind != schema.KindEnum {
			t.UserType = sqlName(ti.nsp) + "." + sqlName(ti.name)
		}
		return t, nil
	case ti.category == 'A' && ti.elem != 0:
		e, err := r.resolve(ctx, ti.elem, mod)
		if err != nil {
			return e, err
		}
		t := schema.Type{Kind: schema.KindArray, Elem: &e, Raw: e.Raw + "[]"}
		return t, nil
	}
	raw, err := r.formatType(ctx, oid, mod)
	if err != nil {
		return schema.Type{}, err
	}
	t := schema.Type{Raw: raw}
	switch {
	case ti.typtype == 'e':
		t.Kind = schema.KindEnum
		t.UserType = sqlName(ti.nsp) + "." + sqlName(ti.name)
		if t.Values, err = r.enumLabels(ctx, oid); err != nil {
			return t, err
		}
	case ti.nsp == "pg_catalog" && ti.typtype == 'b':
		builtinKind(&t, ti.name, mod)
	}
	return t, nil
}

// builtinKind sets the kind and parameters of a pg_catalog base type.
func builtinKind(t *schema.Type, name string, mod int32) {
	fsp := func() int {
		if mod < 0 {
			return 6
		}
		return int(mod)
	}
	length := func(header int32) int {
		if mod < 0 {
			return 0
		}
		return int(mod - header)
	}
	switch name {
	case "bool":
		t.Kind = schema.KindBool
	case "int2":
		t.Kind = schema.KindInt16
	case "int4":
		t.Kind = schema.KindInt32
	case "int8":
		t.Kind = schema.KindInt64
	case "numeric":
		t.Kind = schema.KindDecimal
		if mod >= 4 {
			v := mod - 4
			t.Precision = int(v>>16) & 0xFFFF
			t.Scale = int((v&0x7FF)^0x400) - 0x400 // PostgreSQL 15 allows negative scales
		}
	case "float4":
		t.Kind = schema.KindFloat32
	case "float8":
		t.Kind = schema.KindFloat64
	case "bpchar":
		t.Kind, t.Length = schema.KindChar, length(4)
	case "varchar":
		t.Kind, t.Length = schema.KindVarChar, length(4)
	case "text":
		t.Kind = schema.KindText
	case "bytea":
		t.Kind = schema.KindBlob
	case "date":
		t.Kind = schema.KindDate
	case "time":
		t.Kind, t.FSP = schema.KindTime, fsp()
	case "timetz":
		t.Kind, t.FSP = schema.KindTimeTZ, fsp()
	case "timestamp":
		t.Kind, t.FSP = schema.KindDateTime, fsp()
	case "timestamptz":
		t.Kind, t.FSP = schema.KindTimestamp, fsp()
	case "interval":
		t.Kind, t.FSP = schema.KindInterval, 6
		if p := int(mod & 0xFFFF); mod >= 0 && p != 0xFFFF {
			t.FSP = p
		}
	case "json":
		t.Kind = schema.KindJSON
	case "jsonb":
		t.Kind, t.JSONB = schema.KindJSON, true
	case "uuid":
		t.Kind = schema.KindUUID
	case "inet":
		t.Kind = schema.KindInet
	case "cidr":
		t.Kind = schema.KindCidr
	case "macaddr":
		t.Kind = schema.KindMacAddr
	case "bit":
		t.Kind, t.Length = schema.KindBit, length(0)
	case "varbit":
		t.Kind, t.Length, t.VarBit = schema.KindBit, length(0), true
	case "money":
		t.Kind = schema.KindMoney
	case "xml":
		t.Kind = schema.KindXML
	}
}
