package precheck

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/schema"
)

// maxPacketLimit is the largest max_allowed_packet MySQL accepts (1 GiB).
const maxPacketLimit = 1 << 30

// measureBudget bounds scanning PostgreSQL tables for their largest row.
var measureBudget = 20 * time.Second

// checkMaxPacket: a row larger than the MySQL target's max_allowed_packet
// cannot be written (the load stops at it). A MySQL source bounds its rows
// by its own max_allowed_packet; a PostgreSQL source's rows are measured
// where their columns are unbounded (one heap scan per such table, within
// a time budget; the sizes come from the values' headers, not their data).
func checkMaxPacket(ctx context.Context, e *env) Outcome {
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	dvars, err := e.settings(ctx, false)
	if err != nil {
		return notChecked(err)
	}
	packet, _ := strconv.ParseInt(dvars["max_allowed_packet"], 10, 64)
	o := Outcome{}.with("target_max_allowed_packet", packet)
	raise := func(o Outcome, need int64) Outcome {
		v := min(max(need*2, 64<<20), maxPacketLimit)
		return o.sql(fmt.Sprintf("SET GLOBAL max_allowed_packet = %d;", v)).
			fix("run the SQL on the target (new sessions get it; dts opens its own)" + persistNote)
	}
	if packet >= maxPacketLimit {
		return o.withStatus(Passed, "max_allowed_packet on the target is the largest possible (1 GiB)")
	}
	var unbounded []*tableFacts
	for _, t := range tables {
		if rowBound(t.src) < 0 || rowBound(t.src) > packet {
			unbounded = append(unbounded, t)
		}
	}
	if len(unbounded) == 0 {
		return o.withStatus(Passed, "every row of the %d tables fits max_allowed_packet (%d bytes) by its column types", len(tables), packet)
	}
	if e.spec.Source.Engine.IsMySQL() {
		svars, err := e.settings(ctx, true)
		if err != nil {
			return notChecked(err)
		}
		src, _ := strconv.ParseInt(svars["max_allowed_packet"], 10, 64)
		o = o.with("source_max_allowed_packet", src)
		if packet >= src {
			return o.withStatus(Passed, "max_allowed_packet on the target (%d bytes) is at least the source's (%d), which bounds its rows", packet, src)
		}
		names := tableNames(unbounded)
		return raise(o.withStatus(Warning, "max_allowed_packet on the target (%d bytes) is smaller than the source's (%d): "+
			"a row of up to the source's size would stop the load; tables with large or unbounded rows (%d): %s", packet, src, len(names), limit(names, 10)).
			with("tables", names), src)
	}
	largest, unmeasured, err := e.measureRows(ctx, unbounded)
	if err != nil {
		return notChecked(err)
	}
	var tooBig []string
	var biggest int64
	for _, name := range sortedKeys(largest) {
		if largest[name] > packet-1024 {
			tooBig = append(tooBig, fmt.Sprintf("%s (%d bytes)", name, largest[name]))
		}
		biggest = max(biggest, largest[name])
	}
	o = o.with("largest_row_bytes", largest)
	switch {
	case len(tooBig) > 0:
		return raise(o.withStatus(Failed, "tables with rows larger than the target's max_allowed_packet of %d bytes (%d): %s",
			packet, len(tooBig), limit(tooBig, 10)).with("too_large", tooBig), biggest)
	case len(unmeasured) > 0:
		return raise(o.withStatus(Warning, "tables with unbounded columns not measured within %s (%d): %s; a row larger "+
			"than max_allowed_packet (%d bytes) would stop the load", measureBudget, len(unmeasured), limit(unmeasured, 10), packet).
			with("unmeasured", unmeasured), maxPacketLimit/2)
	}
	return o.withStatus(Passed, "the largest row (%d bytes) fits the target's max_allowed_packet (%d bytes)", biggest, packet)
}

// rowBound is the most bytes a row of t can take by its column types, or
// -1 when a column is unbounded.
func rowBound(t *schema.Table) int64 {
	var n int64
	for _, c := range t.Columns {
		b := columnBound(c.Type)
		if b < 0 {
			return -1
		}
		n += b + 8
	}
	return n
}

func columnBound(t schema.Type) int64 {
	switch t.Kind {
	case schema.KindChar, schema.KindVarChar:
		if t.Length > 0 {
			return int64(t.Length) * 4
		}
		return -1
	case schema.KindBinary, schema.KindVarBinary, schema.KindBit:
		if t.Length > 0 {
			return int64(t.Length)
		}
		return -1
	case schema.KindText, schema.KindBlob, schema.KindJSON, schema.KindArray, schema.KindXML, schema.KindUnknown:
		return -1
	case schema.KindDecimal:
		if t.Precision > 0 {
			return int64(t.Precision) + 2
		}
		return 140000 // PostgreSQL's unconstrained numeric: up to 131072 digits before the point
	case schema.KindEnum, schema.KindSet:
		var n int64
		for _, v := range t.Values {
			n += int64(len(v)) + 1
		}
		return n
	}
	return 64 // numbers, dates, times, uuids, addresses, intervals
}

// measureRows scans PostgreSQL tables for their largest row, 50 tables per
// query and a few queries at a time, within measureBudget; tables not
// measured in time are listed.
func (e *env) measureRows(ctx context.Context, tables []*tableFacts) (map[string]int64, []string, error) {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	mctx, cancel := context.WithTimeout(ctx, measureBudget)
	defer cancel()
	var mu sync.Mutex
	largest := map[string]int64{}
	var unmeasured []string
	// A table without a single heap page holds no row: one catalog query
	// spares scanning it (and locking it), which for 10,000 mostly empty
	// tables was most of this item's time.
	tables, err = e.dropEmpty(ctx, d, tables, largest)
	if err != nil {
		return nil, nil, err
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	const perQuery = 50
	for start := 0; start < len(tables); start += perQuery {
		batch := tables[start:min(start+perQuery, len(tables))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			parts := make([]string, len(batch))
			for i, t := range batch {
				parts[i] = fmt.Sprintf("SELECT %d, (%s)", i, rowSizeSQL(t.src))
			}
			sizes := make([]*int64, len(batch))
			rows, err := d.pg.Query(mctx, strings.Join(parts, " UNION ALL "))
			if err == nil {
				var i int
				var n *int64
				_, err = pgx.ForEachRow(rows, []any{&i, &n}, func() error {
					sizes[i] = n
					return nil
				})
			}
			mu.Lock()
			defer mu.Unlock()
			for i, t := range batch {
				switch {
				case err != nil:
					unmeasured = append(unmeasured, t.src.QualifiedName())
				case sizes[i] != nil:
					largest[t.src.QualifiedName()] = *sizes[i]
				default: // empty
					largest[t.src.QualifiedName()] = 0
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	sort.Strings(unmeasured)
	return largest, unmeasured, nil
}

// dropEmpty returns the tables that have heap pages, and records the others
// (plain tables of size 0) in largest as 0. Partitioned tables keep their
// rows in their partitions and are always measured.
func (e *env) dropEmpty(ctx context.Context, d *endpointDB, tables []*tableFacts, largest map[string]int64) ([]*tableFacts, error) {
	schemas, names := make([]string, len(tables)), make([]string, len(tables))
	for i, t := range tables {
		schemas[i], names[i] = t.src.Schema, t.src.Name
	}
	rows, err := d.pg.Query(ctx, `SELECT r.i::int FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nsp, rel, i)
		JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel
		WHERE c.relkind = 'r' AND pg_relation_size(c.oid) = 0`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("read the tables' sizes: %w", err)
	}
	empty, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read the tables' sizes: %w", err)
	}
	isEmpty := make([]bool, len(tables))
	for _, i := range empty {
		isEmpty[i-1] = true // ordinality counts from 1
	}
	var rest []*tableFacts
	for i, t := range tables {
		if isEmpty[i] {
			largest[t.src.QualifiedName()] = 0
		} else {
			rest = append(rest, t)
		}
	}
	return rest, nil
}

// rowSizeSQL sums the columns' sizes per row: octet_length reads the size
// of a stored text or bytea from its header, without reading a TOASTed value.
func rowSizeSQL(t *schema.Table) string {
	var terms []string
	var fixed int64
	for _, c := range t.Columns {
		b := columnBound(c.Type)
		switch {
		case b >= 0:
			fixed += b + 8
		case c.Type.Kind == schema.KindText || c.Type.Kind == schema.KindBlob || c.Type.Kind == schema.KindVarChar || c.Type.Kind == schema.KindChar:
			terms = append(terms, "COALESCE(octet_length("+pgIdent(c.Name)+")::bigint, 0)")
		default:
			terms = append(terms, "COALESCE(octet_length("+pgIdent(c.Name)+"::text)::bigint, 0)")
		}
	}
	if len(terms) == 0 {
		terms = []string{"0"}
	}
	return fmt.Sprintf("SELECT max(%s) + %d::bigint FROM %s.%s", strings.Join(terms, " + "), fixed, pgIdent(t.Schema), pgIdent(t.Name))
}
