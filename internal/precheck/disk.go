package precheck

import (
	"context"
	"fmt"
	"strings"
)

// checkDiskSpace compares the selected tables' size on the source (data and
// indexes, as the source stores them: the target's size differs by engine)
// with the target's free space where SQL can read it (MariaDB's DISKS
// plugin). Neither PostgreSQL nor MySQL shows free space otherwise: the item
// then passes with the estimate, saying it could not compare.
func checkDiskSpace(ctx context.Context, e *env) Outcome {
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	src, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	need, err := sourceBytes(ctx, src, sel)
	if err != nil {
		return notChecked(err)
	}
	dst, err := e.targetDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	free, where, ok := targetFree(ctx, e, dst)
	return diskOutcome(need, free, where, ok)
}

// diskOutcome compares what the copy needs with the target's free space,
// where it could be read.
func diskOutcome(need, free int64, where string, readable bool) Outcome {
	o := Outcome{}.with("source_bytes", need)
	if !readable {
		return o.withStatus(Passed, "the target's free space is not readable through SQL; the copy needs about %s there "+
			"(the source's data and indexes)", bytesText(need)).
			fix("make sure the target's data directory has at least %s free, with room for its WAL/binlog", bytesText(need*3/2))
	}
	o = o.with("target_free_bytes", free).with("target_disk", where)
	switch {
	case free < need:
		return o.withStatus(Failed, "the target has %s free on %s; the copy needs about %s", bytesText(free), where, bytesText(need)).
			fix("free or add at least %s on the target's disk", bytesText(need-free+need/2))
	case free < need*3/2:
		return o.withStatus(Warning, "the target has %s free on %s; the copy needs about %s, which leaves little for indexes, "+
			"logs and growth", bytesText(free), where, bytesText(need)).
			fix("free or add space on the target's disk")
	}
	return o.withStatus(Passed, "the target has %s free on %s; the copy needs about %s", bytesText(free), where, bytesText(need))
}

// sourceBytes sums the size of the selected tables (data and indexes) in one query.
func sourceBytes(ctx context.Context, d *endpointDB, sel []selected) (int64, error) {
	if d.pg != nil {
		schemas, names := refArrays(sel)
		var n int64
		err := d.pg.QueryRow(ctx, `SELECT COALESCE(sum(CASE WHEN c.relkind = 'p'
				THEN (SELECT sum(pg_total_relation_size(p.relid)) FROM pg_partition_tree(c.oid) p)
				ELSE pg_total_relation_size(c.oid) END), 0)::bigint
			FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
			JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel`, schemas, names).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("read the tables' sizes: %w", err)
		}
		return n, nil
	}
	wanted := map[string]bool{}
	schemas := map[string]bool{}
	for _, s := range sel {
		wanted[s.Source.String()] = true
		schemas[s.Source.Schema] = true
	}
	list := sortedKeys(schemas)
	q := "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) FROM information_schema.TABLES " +
		"WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(list)), ", ") + ")"
	rows, err := d.my.QueryContext(ctx, q, anys(list)...)
	if err != nil {
		return 0, fmt.Errorf("read the tables' sizes: %w", err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var s, t string
		var n int64
		if err := rows.Scan(&s, &t, &n); err != nil {
			return 0, err
		}
		if wanted[s+"."+t] {
			total += n
		}
	}
	return total, rows.Err()
}

// targetFree reads the free space of the disk holding a MariaDB target's
// data directory from information_schema.DISKS (the disks plugin).
func targetFree(ctx context.Context, e *env, d *endpointDB) (free int64, where string, ok bool) {
	if d.my == nil {
		return 0, "", false
	}
	vars, err := e.settings(ctx, false)
	if err != nil {
		return 0, "", false
	}
	rows, err := d.my.QueryContext(ctx, "SELECT Path, Available FROM information_schema.DISKS")
	if err != nil {
		return 0, "", false // no plugin: not readable
	}
	defer rows.Close()
	datadir, best := vars["datadir"], -1
	for rows.Next() {
		var path string
		var kb int64
		if rows.Scan(&path, &kb) != nil {
			return 0, "", false
		}
		if strings.HasPrefix(datadir, path) && len(path) > best {
			best, free, where = len(path), kb*1024, path
		}
	}
	return free, where, best >= 0 && rows.Err() == nil
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
