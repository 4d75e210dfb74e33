package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pglogrepl"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// Column identity across relation messages. A RELATION message lists a
// table's columns by name only, so (id, b) followed by (id, c) may be b
// renamed to c (the target must keep b's values under c) or b dropped and c
// added (c is NULL, or its default, for every existing row). PostgreSQL
// tells them apart by the column's number, attnum: a rename keeps it, an
// added column gets a new one, and a dropped column keeps its number in
// pg_attribute for good (attisdropped), never reused.
//
// The decoder knows the attnums of a table's structure when it confirmed
// them: when the stream opened (the catalog then has the structure's
// columns, by name; or no column was ever dropped, so the structure's are
// the table's first attnums), or when it followed a change. A relation
// message whose column names differ is followed by what the catalog shows
// now, which may be later than the message: the message's columns are an
// increasing sequence of attnums, and it can be told which only when
//
//   - the columns of the known structure still alive now are as many as the
//     message has (they are then exactly its columns), or the attnums that
//     can be in it (not dropped or generated for good, not below the known
//     structure's range unless in it) are as many; or
//   - the catalog's columns now are the message's, by name: their attnums
//     are taken (this fails only if a column was since dropped and one of
//     the same name added, which later relation messages could not show
//     either);
//   - every known column is still alive now (no generated one made plain):
//     they are then the message's first columns, in order, and the rest
//     were added.
//
// Otherwise a rename cannot be told from a drop and an add, and the stream
// stops with CodeDecode rather than guess. So does a column dropped and
// added again under its own name, which a target keyed by names cannot
// follow. A column that keeps its name is taken to be the same column:
// dropping and re-adding one between two relation messages of the same
// names is not visible at all.

// renameKey is a structure and the fingerprint of a relation message that
// changed it: the same pair always gives the same renames, so a transaction
// replayed after a reconnect decodes as the first time.
type renameKey struct {
	old *schema.Table
	fp  string
}

// renamesFor returns the columns renamed from known to the structure of m
// (table), and records what is known of table's attnums.
func (d *logicalDecoder) renamesFor(ctx context.Context, m *pglogrepl.RelationMessage, fp string, known, table *schema.Table) (map[string]string, error) {
	key := renameKey{known, fp}
	if r, ok := d.renamed[key]; ok {
		return r, nil
	}
	var renames map[string]string
	var att *attInfo
	if slices.Equal(carried(known), carried(table)) {
		att = d.atts[known] // the same columns (retyped, or a new key)
	} else {
		cat, err := d.src.readAttrs(ctx, []uint32{m.RelationID})
		if err != nil {
			return nil, err
		}
		if renames, att, err = followColumns(known, d.atts[known], m, cat[m.RelationID]); err != nil {
			return nil, err
		}
	}
	if _, ok := d.atts[table]; !ok && att != nil {
		d.atts[table] = att
	}
	d.renamed[key] = renames
	return renames, nil
}

// confirmAttnums records the attnums of the structures the stream starts
// with, where they can be known.
func (d *logicalDecoder) confirmAttnums(ctx context.Context) error {
	oids := make([]uint32, 0, len(d.initial))
	for oid := range d.initial {
		oids = append(oids, oid)
	}
	cat, err := d.src.readAttrs(ctx, oids)
	if err != nil {
		return err
	}
	for oid, t := range d.initial {
		if a := confirmInitial(t, cat[oid]); a != nil {
			d.atts[t] = a
		}
	}
	return nil
}

// attInfo is what is known of one structure's attnums.
type attInfo struct {
	nums    []int16 // of the columns relation messages carry (not generated), in order
	max     int16   // every attnum up to max is in nums, gen or dropped
	gen     []int16 // attnums up to max that may be generated columns
	dropped []int16 // attnums up to max dropped for good
}

// catAttr is one pg_attribute row.
type catAttr struct {
	num     int16
	name    string
	dropped bool
	gen     bool
}

// readAttrs reads the attributes of tables oids, by oid.
func (s *Source) readAttrs(ctx context.Context, oids []uint32) (map[uint32][]catAttr, error) {
	rows, err := s.pool.Query(ctx, `SELECT attrelid, attnum, attname, attisdropped, attgenerated <> ''
		FROM pg_attribute WHERE attrelid = ANY($1::oid[]) AND attnum > 0 ORDER BY attrelid, attnum`, oids)
	if err != nil {
		return nil, wrapErr(err, "read the tables' columns")
	}
	defer rows.Close()
	out := map[uint32][]catAttr{}
	for rows.Next() {
		var oid uint32
		var a catAttr
		if err := rows.Scan(&oid, &a.num, &a.name, &a.dropped, &a.gen); err != nil {
			return nil, wrapErr(err, "read the tables' columns")
		}
		out[oid] = append(out[oid], a)
	}
	return out, wrapErr(rows.Err(), "read the tables' columns")
}

// confirmInitial returns the attnums of t (a structure as of the stream's
// start, columns generated or not), nil when they cannot be known.
func confirmInitial(t *schema.Table, cat []catAttr) *attInfo {
	var live []catAttr
	var dropped []int16
	for _, a := range cat {
		if a.dropped {
			dropped = append(dropped, a.num)
		} else {
			live = append(live, a)
		}
	}
	var use []catAttr
	info := &attInfo{}
	switch {
	case len(cat) == 0:
		return nil
	case len(live) == len(t.Columns) && slices.EqualFunc(live, t.Columns, func(a catAttr, c schema.Column) bool { return a.name == c.Name }):
		use, info.dropped = live, dropped
		info.max = cat[len(cat)-1].num
	case len(dropped) == 0 && len(cat) >= len(t.Columns):
		// No column was ever dropped: attnums run 1, 2, ... and t's
		// columns are the first ones, renamed since or not.
		use = cat[:len(t.Columns)]
		info.max = int16(len(t.Columns))
	default:
		return nil
	}
	for i, c := range t.Columns {
		if c.Generated != nil {
			info.gen = append(info.gen, use[i].num)
		} else {
			info.nums = append(info.nums, use[i].num)
		}
	}
	return info
}

// carried returns the names of t's columns relation messages carry.
func carried(t *schema.Table) []string {
	var out []string
	for _, c := range t.Columns {
		if c.Generated == nil {
			out = append(out, c.Name)
		}
	}
	return out
}

// followColumns works out how the columns of old (whose attnums are known
// as oldAtt, or nil) became m's, with the catalog as it is now: the
// renames (old name to new), and the attnums of m's columns when known.
func followColumns(old *schema.Table, oldAtt *attInfo, m *pglogrepl.RelationMessage, cat []catAttr) (map[string]string, *attInfo, error) {
	oldNames := carried(old)
	names := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		names[i] = c.Name
	}
	if slices.Equal(oldNames, names) {
		return nil, oldAtt, nil
	}
	ambiguous := func(why string) error {
		return errs.New(CodeDecode, "cannot tell how the columns of %s changed from (%s) to (%s): %s (columns by number now: %s), "+
			"so a renamed column cannot be told from one dropped and another added",
			old, strings.Join(oldNames, ", "), strings.Join(names, ", "), why, describeAttrs(cat)).
			WithFix("the job stopped before this change. Reset the job and run it again with a full load; "+
				"to avoid this, let dts catch up before changing the table's columns again").
			WithDetail("table", old.String())
	}
	if oldAtt == nil {
		return nil, nil, ambiguous("the numbers of the table's columns could not be known since the stream started or an earlier change")
	}
	byNum := map[int16]catAttr{}
	for _, a := range cat {
		byNum[a.num] = a
	}
	alive := func(n int16) bool { a, ok := byNum[n]; return ok && !a.dropped }
	var required, possible []int16
	for _, n := range oldAtt.nums {
		if alive(n) {
			required = append(required, n)
		}
	}
	for _, a := range cat {
		switch {
		case a.gen && !a.dropped, slices.Contains(oldAtt.dropped, a.num):
		case slices.Contains(oldAtt.nums, a.num), slices.Contains(oldAtt.gen, a.num), a.num > oldAtt.max:
			possible = append(possible, a.num)
		}
	}
	// The catalog's columns now, when they are the message's: their
	// attnums are the message's, unless a column dropped since was
	// replaced by one of its name, which later relation messages could not
	// show either.
	var now []int16
	for _, a := range cat {
		if !a.dropped && !a.gen {
			if len(now) == len(names) || a.name != names[len(now)] {
				now = nil
				break
			}
			now = append(now, a.num)
		}
	}
	if len(now) != len(names) {
		now = nil
	}
	var nums []int16 // m's attnums; nil when not all are known
	var renames map[string]string
	rename := func(from, to string) {
		if from != to {
			if renames == nil {
				renames = map[string]string{}
			}
			renames[from] = to
		}
	}
	switch {
	case len(required) == len(names) || len(possible) == len(names) || now != nil:
		switch {
		case len(required) == len(names):
			nums = required
		case len(possible) == len(names):
			nums = possible
		default:
			nums = now
		}
		for i, n := range oldAtt.nums {
			if j := slices.Index(nums, n); j >= 0 {
				rename(oldNames[i], names[j])
			} else if j := slices.Index(names, oldNames[i]); j >= 0 && !slices.Contains(oldAtt.nums, nums[j]) {
				return nil, nil, errs.New(CodeDecode, "column %s of %s was dropped and added again: a target that keeps the old column would keep its old values", oldNames[i], old).
					WithFix("the job stopped before this change. Reset the job and run it again with a full load").
					WithDetail("table", old.String())
			}
		}
	case len(required) == len(oldAtt.nums) && allAliveGenerated(oldAtt.gen, byNum):
		if len(names) < len(oldNames) {
			return nil, nil, ambiguous("the relation message has fewer columns than the table had, all of them still there")
		}
		for i := range oldNames {
			rename(oldNames[i], names[i])
		}
		nums = addedNums(oldAtt, possible, byNum, len(names)-len(oldNames))
	default:
		return nil, nil, ambiguous("the table's columns changed again since")
	}
	if nums == nil {
		return renames, nil, nil
	}
	return renames, nextAttInfo(oldAtt, nums, cat), nil
}

// allAliveGenerated reports whether every attnum of gen is a generated
// column now (and so was one all along: none was made plain).
func allAliveGenerated(gen []int16, byNum map[int16]catAttr) bool {
	for _, n := range gen {
		if a, ok := byNum[n]; !ok || a.dropped || !a.gen {
			return false
		}
	}
	return true
}

// addedNums returns the attnums of the known structure's columns followed
// by the n columns added since, nil when those cannot be told: the added
// ones are above old.max, and either all possible ones, or the first n
// alive now with none dropped below them (a later attnum was added later;
// one alive now was alive then).
func addedNums(old *attInfo, possible []int16, byNum map[int16]catAttr, n int) []int16 {
	var high []int16
	for _, a := range possible {
		if a > old.max {
			high = append(high, a)
		}
	}
	out := slices.Clone(old.nums)
	if len(high) == n {
		return append(out, high...)
	}
	var added []int16
	for _, a := range high {
		if len(added) == n {
			break
		}
		if byNum[a].dropped {
			return nil
		}
		added = append(added, a)
	}
	if len(added) < n {
		return nil
	}
	return append(out, added...)
}

// nextAttInfo is what is known of the attnums of a structure whose
// columns are nums, which followed old.
func nextAttInfo(old *attInfo, nums []int16, cat []catAttr) *attInfo {
	next := &attInfo{nums: nums, max: old.max, dropped: slices.Clone(old.dropped)}
	for _, n := range nums {
		next.max = max(next.max, n)
	}
	for _, n := range old.nums {
		if !slices.Contains(nums, n) { // a column never becomes generated: dropped
			next.dropped = append(next.dropped, n)
		}
	}
	for _, a := range cat {
		if a.num <= next.max && !slices.Contains(nums, a.num) && !slices.Contains(next.dropped, a.num) {
			next.gen = append(next.gen, a.num) // generated then, or dropped since: unknown
		}
	}
	return next
}

// composeRenames chains the renames from a to b (r1) and from b to c (r2)
// into those from a to c.
func composeRenames(a *schema.Table, r1 map[string]string, b *schema.Table, r2 map[string]string, c *schema.Table) map[string]string {
	var out map[string]string
	for _, col := range a.Columns {
		y, ok := r1[col.Name]
		if !ok {
			if _, has := b.Column(col.Name); !has {
				continue
			}
			y = col.Name
		}
		z, ok := r2[y]
		if !ok {
			if _, has := c.Column(y); !has {
				continue
			}
			z = y
		}
		if z != col.Name {
			if out == nil {
				out = map[string]string{}
			}
			out[col.Name] = z
		}
	}
	return out
}

// describeAttrs lists a table's attributes for messages.
func describeAttrs(cat []catAttr) string {
	if len(cat) == 0 {
		return "none, the table is gone"
	}
	parts := make([]string, len(cat))
	for i, a := range cat {
		switch {
		case a.dropped:
			parts[i] = fmt.Sprintf("%d dropped", a.num)
		case a.gen:
			parts[i] = fmt.Sprintf("%d %s (generated)", a.num, a.name)
		default:
			parts[i] = fmt.Sprintf("%d %s", a.num, a.name)
		}
	}
	return strings.Join(parts, ", ")
}
