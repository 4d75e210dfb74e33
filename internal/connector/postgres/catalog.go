package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// Reading tables' structure from pg_catalog. Every query covers all the
// requested tables at once (oid = ANY($1)).

// userRelations selects the tables dts copies: ordinary and partitioned
// tables, not partitions (they are read through their parent), not system
// or dts_meta schemas, not tables that belong to an extension.
const userRelations = `c.relkind IN ('r', 'p') AND NOT c.relispartition
	AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dts_meta')
	AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
	AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

func listTables(ctx context.Context, q querier) ([]connector.TableRef, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE `+userRelations+` ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`)
	if err != nil {
		return nil, wrapErr(err, "list tables")
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (connector.TableRef, error) {
		var t connector.TableRef
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
	return refs, wrapErr(err, "list tables")
}

// readTables reads the structure of refs, in refs' order.
func readTables(ctx context.Context, q querier, refs []connector.TableRef) ([]*schema.Table, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	schemas, names := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		schemas[i], names[i] = r.Schema, r.Name
	}
	rows, err := q.Query(ctx, `SELECT c.oid, n.nspname, c.relname, c.relkind = 'p', COALESCE(obj_description(c.oid, 'pg_class'), '')
		FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
		JOIN pg_namespace n ON n.nspname = r.nsp
		JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN ('r', 'p')`, schemas, names)
	if err != nil {
		return nil, wrapErr(err, "read tables")
	}
	byOID := map[uint32]*schema.Table{}
	byName := map[connector.TableRef]*schema.Table{}
	var oids []uint32
	for rows.Next() {
		var oid uint32
		t := &schema.Table{}
		if err := rows.Scan(&oid, &t.Schema, &t.Name, &t.Partitioned, &t.Comment); err != nil {
			rows.Close()
			return nil, wrapErr(err, "read tables")
		}
		byOID[oid] = t
		byName[connector.TableRef{Schema: t.Schema, Name: t.Name}] = t
		oids = append(oids, oid)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "read tables")
	}
	out := make([]*schema.Table, len(refs))
	for i, r := range refs {
		if out[i] = byName[r]; out[i] == nil {
			return nil, fmt.Errorf("table %s does not exist (any more) on the source", r)
		}
	}
	steps := []func(context.Context, querier, []uint32, map[uint32]*schema.Table) error{
		readColumns, readConstraints, readIndexes, readForeignKeys,
	}
	for _, step := range steps {
		if err := step(ctx, q, oids, byOID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readColumns(ctx context.Context, q querier, oids []uint32, byOID map[uint32]*schema.Table) error {
	type col struct {
		rel                uint32
		c                  schema.Column
		typ                uint32
		mod                int32
		dims               int
		notNull, hasDef    bool
		def, identity, gen string
		ownsSeq            bool
	}
	rows, err := q.Query(ctx, `SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, a.attndims, a.attnotnull,
		d.adbin IS NOT NULL, COALESCE(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text,
		COALESCE(col_description(a.attrelid, a.attnum), ''),
		CASE WHEN a.attcollation = 0 OR a.attcollation = t.typcollation THEN ''
		     WHEN cn.nspname = 'pg_catalog' THEN co.collname::text
		     ELSE '"' || replace(cn.nspname, '"', '""') || '"."' || replace(co.collname, '"', '""') || '"' END,
		EXISTS (SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
		        WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
		          AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i'))
		FROM pg_attribute a
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
		WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attrelid, a.attnum`, oids)
	if err != nil {
		return wrapErr(err, "read columns")
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		err := r.Scan(&c.rel, &c.c.Name, &c.typ, &c.mod, &c.dims, &c.notNull, &c.hasDef, &c.def, &c.identity, &c.gen,
			&c.c.Comment, &c.c.Collation, &c.ownsSeq)
		return c, err
	})
	if err != nil {
		return wrapErr(err, "read columns")
	}
	types := newTypeResolver(q)
	for _, c := range cols {
		t := byOID[c.rel]
		typ, err := types.resolve(ctx, c.typ, c.mod)
		if err != nil {
			return fmt.Errorf("column %s.%s: %w", t, c.c.Name, err)
		}
		if typ.Kind == schema.KindArray {
			typ.Dims = c.dims
		}
		c.c.Type = typ
		c.c.Nullable = !c.notNull
		switch {
		case c.identity == "a" || c.identity == "d":
			c.c.AutoIncrement = true
			c.c.Identity = map[string]string{"a": "ALWAYS", "d": "BY DEFAULT"}[c.identity]
		case c.gen == "s" || c.gen == "v": // v: virtual, PostgreSQL 18
			c.c.Generated = &schema.Generated{Expr: c.def, Stored: c.gen == "s"}
		case c.ownsSeq && strings.HasPrefix(c.def, "nextval("):
			c.c.AutoIncrement = true // serial
		case c.hasDef:
			c.c.Default = classifyDefault(c.def, typ)
		}
		t.Columns = append(t.Columns, c.c)
	}
	return nil
}

// readConstraints reads primary keys and CHECK constraints.
func readConstraints(ctx context.Context, q querier, oids []uint32, byOID map[uint32]*schema.Table) error {
	rows, err := q.Query(ctx, `SELECT con.conrelid, con.contype::text, con.conname,
		COALESCE(pg_get_expr(con.conbin, con.conrelid), ''),
		COALESCE((SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
		          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum), '{}')
		FROM pg_constraint con
		WHERE con.conrelid = ANY($1) AND con.contype IN ('p', 'c') AND con.conparentid = 0
		ORDER BY con.conrelid, con.conname COLLATE "C"`, oids)
	if err != nil {
		return wrapErr(err, "read constraints")
	}
	var (
		rel             uint32
		kind, name, def string
		cols            []string
	)
	_, err = pgx.ForEachRow(rows, []any{&rel, &kind, &name, &def, &cols}, func() error {
		t := byOID[rel]
		if kind == "p" {
			t.PrimaryKey = append([]string(nil), cols...)
		} else {
			t.Checks = append(t.Checks, schema.Check{Name: name, Expr: def})
		}
		return nil
	})
	return wrapErr(err, "read constraints")
}

func readIndexes(ctx context.Context, q querier, oids []uint32, byOID map[uint32]*schema.Table) error {
	rows, err := q.Query(ctx, `SELECT i.indrelid, ic.relname, i.indisunique, am.amname,
		COALESCE(pg_get_expr(i.indpred, i.indrelid), ''), k.n, COALESCE(ia.attname, ''), i.indoption[k.n - 1],
		CASE WHEN i.indkey[k.n - 1] = 0 THEN pg_get_indexdef(i.indexrelid, k.n, false) ELSE '' END,
		CASE WHEN opc.opcdefault THEN '' WHEN opn.nspname = 'pg_catalog' THEN quote_ident(opc.opcname)
		     ELSE quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_am am ON am.oid = ic.relam
		CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(n)
		JOIN pg_opclass opc ON opc.oid = i.indclass[k.n - 1]
		JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
		LEFT JOIN pg_attribute ia ON ia.attrelid = i.indrelid AND ia.attnum = i.indkey[k.n - 1] AND i.indkey[k.n - 1] <> 0
		WHERE i.indrelid = ANY($1) AND NOT i.indisprimary AND i.indisvalid AND NOT i.indisexclusion
		ORDER BY i.indrelid, ic.relname COLLATE "C", k.n`, oids)
	if err != nil {
		return wrapErr(err, "read indexes")
	}
	var (
		rel                      uint32
		name, method, pred, expr string
		colName, opclass         string
		unique                   bool
		n                        int32
		option                   int16
	)
	_, err = pgx.ForEachRow(rows, []any{&rel, &name, &unique, &method, &pred, &n, &colName, &option, &expr, &opclass}, func() error {
		t := byOID[rel]
		if n == 1 {
			t.Indexes = append(t.Indexes, schema.Index{Name: name, Unique: unique, Kind: strings.ToUpper(method), Where: pred})
		}
		ix := &t.Indexes[len(t.Indexes)-1]
		ix.Columns = append(ix.Columns, schema.IndexColumn{Name: colName, Expr: expr, Desc: option&1 != 0, Opclass: opclass})
		return nil
	})
	return wrapErr(err, "read indexes")
}

func readForeignKeys(ctx context.Context, q querier, oids []uint32, byOID map[uint32]*schema.Table) error {
	rows, err := q.Query(ctx, `SELECT con.conrelid, con.conname, rn.nspname, rc.relname,
		(SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
		 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
		(SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
		 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum),
		con.confupdtype::text, con.confdeltype::text
		FROM pg_constraint con
		JOIN pg_class rc ON rc.oid = con.confrelid
		JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE con.conrelid = ANY($1) AND con.contype = 'f' AND con.conparentid = 0
		ORDER BY con.conrelid, con.conname COLLATE "C"`, oids)
	if err != nil {
		return wrapErr(err, "read foreign keys")
	}
	var (
		rel              uint32
		fk               schema.ForeignKey
		onUpdate, onDel  string
		cols, refColumns []string
	)
	_, err = pgx.ForEachRow(rows, []any{&rel, &fk.Name, &fk.RefSchema, &fk.RefTable, &cols, &refColumns, &onUpdate, &onDel}, func() error {
		k := fk
		k.Columns, k.RefColumns = append([]string(nil), cols...), append([]string(nil), refColumns...)
		k.OnUpdate, k.OnDelete = fkAction[onUpdate], fkAction[onDel]
		byOID[rel].ForeignKeys = append(byOID[rel].ForeignKeys, k)
		return nil
	})
	return wrapErr(err, "read foreign keys")
}

var fkAction = map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
