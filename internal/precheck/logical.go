package precheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	pgconnector "github.com/dtsorg/dts/internal/connector/postgres"
)

// The logical replication of a PostgreSQL source, used by the incremental phase.

// slotName and publicationName are the job's names on the source, as the
// logical source derives them (the endpoint's options, else from the job).
func (e *env) logJob() connector.LogJob {
	o := e.spec.Source.Options
	return connector.LogJob{JobID: e.jobID, JobName: e.spec.Name, Slot: o.Slot, Publication: o.Publication, ServerID: o.ServerID}
}

func (e *env) slotName() string        { return pgconnector.SlotName(e.logJob()) }
func (e *env) publicationName() string { return pgconnector.PublicationName(e.logJob()) }

func pgSource(ctx context.Context, e *env) (*endpointDB, map[string]string, error) {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := e.settings(ctx, true)
	return d, s, err
}

const restartNote = "; it takes effect when the server restarts"

func checkWalLevel(ctx context.Context, e *env) Outcome {
	_, s, err := pgSource(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	if s["wal_level"] == "logical" {
		return passed("wal_level is logical").with("wal_level", s["wal_level"])
	}
	return failed("wal_level is %s: logical decoding needs logical", s["wal_level"]).with("wal_level", s["wal_level"]).
		sql("ALTER SYSTEM SET wal_level = logical;").fix("run the SQL on the source as a superuser and restart the server" + restartNote)
}

func checkFreeSlots(ctx context.Context, e *env) Outcome {
	d, s, err := pgSource(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	max, _ := strconv.Atoi(s["max_replication_slots"])
	var inactive []string
	var used int
	rows, err := d.pg.Query(ctx, `SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name`)
	if err != nil {
		return notChecked(fmt.Errorf("list replication slots: %w", err))
	}
	for rows.Next() {
		var name string
		var active bool
		if err := rows.Scan(&name, &active); err != nil {
			rows.Close()
			return notChecked(err)
		}
		used++
		if !active && name != e.slotName() {
			inactive = append(inactive, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return notChecked(err)
	}
	o := passed("%d of %d replication slots in use", used, max).with("max_replication_slots", max).with("slots_in_use", used)
	if used < max {
		return o
	}
	o = o.withStatus(Failed, "all %d replication slots are in use (max_replication_slots): the job cannot create its slot", max).
		sql(fmt.Sprintf("ALTER SYSTEM SET max_replication_slots = %d;", max+1))
	fix := "raise max_replication_slots with the SQL and restart the server"
	if len(inactive) > 0 {
		o = o.with("inactive_slots", inactive)
		for _, n := range inactive {
			o = o.sql(fmt.Sprintf("SELECT pg_drop_replication_slot(%s);", pgString(n)))
		}
		fix += ", or drop an inactive slot nobody needs any more (the other statements; a dropped slot's consumer must start over)"
	}
	return o.fix("%s", fix)
}

func checkFreeSenders(ctx context.Context, e *env) Outcome {
	d, s, err := pgSource(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	max, _ := strconv.Atoi(s["max_wal_senders"])
	var pids []int32
	rows, err := d.pg.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender' ORDER BY pid`)
	if err != nil {
		return notChecked(fmt.Errorf("list WAL senders: %w", err))
	}
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return notChecked(err)
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return notChecked(err)
	}
	o := passed("%d of %d WAL senders in use", len(pids), max).with("max_wal_senders", max).with("wal_senders_in_use", len(pids))
	if len(pids) < max {
		return o
	}
	o = o.withStatus(Failed, "all %d WAL senders are in use (max_wal_senders): the job's replication connection would be refused", max).
		with("walsender_pids", pids).sql(fmt.Sprintf("ALTER SYSTEM SET max_wal_senders = %d;", max+1))
	return o.fix("raise max_wal_senders with the SQL and restart the server, or end a replication connection nobody needs " +
		"(SELECT pg_terminate_backend(pid) with a pid from the details)")
}

func checkSlotName(ctx context.Context, e *env) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	name := e.slotName()
	var database, plugin string
	var active bool
	err = d.pg.QueryRow(ctx, `SELECT COALESCE(database, ''), COALESCE(plugin, ''), active FROM pg_replication_slots WHERE slot_name = $1`, name).
		Scan(&database, &plugin, &active)
	if errors.Is(err, pgx.ErrNoRows) {
		return passed("no replication slot is named %s", name).with("slot", name)
	}
	if err != nil {
		return notChecked(fmt.Errorf("look up slot %s: %w", name, err))
	}
	o := failed("a replication slot named %s already exists (database %q, plugin %q, active %t): it is not this job's", name, database, plugin, active).
		with("slot", name).with("database", database).with("plugin", plugin).with("active", active)
	if active {
		return o.fix("another consumer is using it: choose another name in source.options.slot")
	}
	return o.sql(fmt.Sprintf("SELECT pg_drop_replication_slot(%s);", pgString(name))).
		fix("drop the slot if nobody needs it (the SQL), or choose another name in source.options.slot")
}

func checkWalRetention(ctx context.Context, e *env) Outcome {
	_, s, err := pgSource(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	v, ok := s["max_slot_wal_keep_size"]
	mb, _ := strconv.Atoi(v)
	switch {
	case !ok:
		return passed("slots keep every WAL segment they need (PostgreSQL before 13)")
	case mb < 0:
		return passed("max_slot_wal_keep_size is -1: the slot keeps the WAL the job needs").with("max_slot_wal_keep_size", v)
	}
	return warning("max_slot_wal_keep_size is %d MB: a job stopped (or slower than the writes) while more WAL than that is written "+
		"loses its slot and must start over", mb).with("max_slot_wal_keep_size_mb", mb).
		sql("ALTER SYSTEM SET max_slot_wal_keep_size = -1;", "SELECT pg_reload_conf();").
		fix("keep it if the disk must be protected (dts reports the slot's retained WAL); otherwise run the SQL on the source as a superuser")
}

// checkPublication predicts what the logical source does with the job's
// publication (internal/connector/postgres/publication.go): one that lists
// exactly the selected tables with every operation is used as it is;
// otherwise the job creates it (CREATE on the database, ownership of every
// table) or, when it carries the job's mark, changes it (ownership of the
// publication and the tables).
func checkPublication(ctx context.Context, e *env) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	pub, user := e.publicationName(), pgIdent(d.user)
	var super, canCreate bool
	var database string
	if err := d.pg.QueryRow(ctx, `SELECT rolsuper, has_database_privilege(current_database(), 'CREATE'), current_database()
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &canCreate, &database); err != nil {
		return notChecked(err)
	}
	p, err := readPublication(ctx, d, pub, sel)
	if err != nil {
		return notChecked(err)
	}
	o := Outcome{}.with("publication", pub)
	notOwned, err := unownedTables(ctx, d, sel)
	if err != nil {
		return notChecked(err)
	}
	if p != nil {
		o = o.with("exists", true)
		switch {
		case len(p.problems) == 0:
			return o.withStatus(Passed, "publication %s lists exactly the job's tables and is used as it is", pub)
		case p.jobID != e.jobID:
			return o.withStatus(Failed, "publication %s exists and is not this job's: %s", pub, strings.Join(p.problems, "; ")).
				with("problems", p.problems).sql(fmt.Sprintf("DROP PUBLICATION %s;", pgIdent(pub))).
				fix("drop it if nothing uses it (the SQL), or name another publication in source.options.publication")
		case !super && (!p.owned || len(notOwned) > 0):
			return o.withStatus(Failed, "publication %s must be changed (%s), but %s does not own it and all its tables",
				pub, strings.Join(p.problems, "; "), user).with("problems", p.problems).with("tables_not_owned", notOwned).
				fix("reset the job (its publication is created again), or change it as its owner")
		}
		return o.withStatus(Passed, "publication %s is this job's; it is brought up to date when the job starts", pub)
	}
	o = o.with("exists", false)
	if super || canCreate && len(notOwned) == 0 {
		return o.withStatus(Passed, "%s may create publication %s", user, pub)
	}
	var why []string
	if !canCreate {
		why = append(why, "CREATE on database "+database)
	}
	if len(notOwned) > 0 {
		why = append(why, fmt.Sprintf("ownership of %d selected tables (%s)", len(notOwned), limit(notOwned, 5)))
	}
	quoted := make([]string, len(sel))
	for i, s := range sel {
		quoted[i] = "ONLY " + pgIdent(s.Source.Schema) + "." + pgIdent(s.Source.Name)
	}
	with := "publish = 'insert, update, delete, truncate'"
	if d.version.major >= 13 {
		with += ", publish_via_partition_root = true"
	}
	return o.withStatus(Failed, "%s cannot create publication %s: it lacks %s", user, pub, strings.Join(why, " and ")).
		with("tables_not_owned", notOwned).
		sql(fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s WITH (%s);", pgIdent(pub), strings.Join(quoted, ", "), with)).
		fix("run the SQL on the source as the tables' owner or a superuser: the job then uses that publication as it is")
}

// pubState is what the job would find of its publication.
type pubState struct {
	owned    bool     // the user is (a member of) its owner
	jobID    string   // the job whose mark it carries, if any
	problems []string // how it differs from what the job needs
}

func readPublication(ctx context.Context, d *endpointDB, name string, sel []selected) (*pubState, error) {
	var raw []byte
	var comment string
	p := &pubState{}
	err := d.pg.QueryRow(ctx, `SELECT to_jsonb(p), COALESCE(obj_description(p.oid, 'pg_publication'), ''), pg_has_role(p.pubowner, 'USAGE')
		FROM pg_publication p WHERE p.pubname = $1`, name).Scan(&raw, &comment, &p.owned)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read publication %s: %w", name, err)
	}
	if rest, ok := strings.CutPrefix(comment, "dts:job:"); ok {
		p.jobID, _, _ = strings.Cut(rest, " ")
	}
	var row map[string]any
	if err := json.Unmarshal(raw, &row); err != nil {
		return nil, fmt.Errorf("read publication %s: %w", name, err)
	}
	if row["puballtables"] == true {
		p.problems = append(p.problems, "it is FOR ALL TABLES")
	}
	for _, op := range []string{"insert", "update", "delete", "truncate"} {
		if row["pub"+op] != true {
			p.problems = append(p.problems, "it does not publish "+op)
		}
	}
	if v, ok := row["pubviaroot"]; ok && v != true {
		p.problems = append(p.problems, "publish_via_partition_root is off")
	}
	schemas, names := refArrays(sel)
	var missing, extra int
	err = d.pg.QueryRow(ctx, `WITH sel AS (SELECT c.oid FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
			JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel),
		mem AS (SELECT pr.prrelid AS oid FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = $3)
		SELECT (SELECT count(*) FROM sel WHERE oid NOT IN (SELECT oid FROM mem)), (SELECT count(*) FROM mem WHERE oid NOT IN (SELECT oid FROM sel))`,
		schemas, names, name).Scan(&missing, &extra)
	if err != nil {
		return nil, fmt.Errorf("read publication %s: %w", name, err)
	}
	if row["puballtables"] != true && (missing > 0 || extra > 0) {
		p.problems = append(p.problems, fmt.Sprintf("its tables are not exactly the job's (%d missing, %d others)", missing, extra))
	}
	return p, nil
}

// unownedTables lists the selected tables the user does not own.
func unownedTables(ctx context.Context, d *endpointDB, sel []selected) ([]string, error) {
	schemas, names := refArrays(sel)
	rows, err := d.pg.Query(ctx, `SELECT n.nspname || '.' || c.relname FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
		JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel
		WHERE NOT pg_has_role(c.relowner, 'USAGE') ORDER BY 1`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("read table owners: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
