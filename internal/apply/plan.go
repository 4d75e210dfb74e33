package apply

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
	"github.com/dtsorg/dts/internal/value"
)

// tablePlan is what the coordinator knows of one source table version:
// where its rows go, how they are projected and identified, how they are
// routed. It is derived once per version (the *schema.Table pointer).
type tablePlan struct {
	src *schema.Table
	at  *connector.ApplyTable
	// proj[i] is the source ordinal of at.Columns[i]; nil: the same order.
	proj []int
	// keySrc are the source ordinals of the identity key (at.Key); nil:
	// the table has no key.
	keySrc []int
	// keyAt are the positions of the identity key in at.Columns.
	keyAt []int
	// keyText marks key columns holding text (trailing spaces are not
	// hashed: PAD SPACE collations compare 'a' = 'a '); keyFloat those
	// holding floats (-0 = 0); keyInt those holding integers (hashed by
	// blocks of neighbouring values: keyBlockBits).
	keyText, keyFloat, keyInt []bool
	// byTable routes every change of the table to one worker; why says why.
	byTable bool
	why     string
	seed    uint64 // hash of the source table's name
	// rules are the table's object rules (nil: none); window its own
	// replay window (nil: the job's).
	rules  *transform.Plan
	window *Window
	// guard are the values of the added columns that tell a merged
	// table's sources apart (from: database, table, constant), appended
	// to the key of its updates and deletes: at.Key names them after the
	// key, so a change of one source never touches another's row.
	guard value.Row
}

// merges reports whether the table is one of several merged into one
// target table (shard merge).
func (tp *tablePlan) merges() bool { return tp.rules != nil && len(tp.rules.Merge) > 1 }

// skipped is the plan of a table outside the job.
var skipped = &tablePlan{}

// plan returns the plan of a source table version, deriving it once.
func (c *Coordinator) plan(src *schema.Table) (*tablePlan, error) {
	if tp, ok := c.plans[src]; ok {
		return tp, nil
	}
	p, err := c.opts.Plan(src)
	if err != nil {
		return nil, err
	}
	tp := skipped
	if p != nil {
		if tp, err = newTablePlan(src, p, c.opts.SourceEngine, c.routing); err != nil {
			return nil, err
		}
	}
	if tp != skipped && tp.rules != nil && len(tp.rules.Merge) > 1 {
		c.merged.Store(tp.at.Table.QualifiedName(), strings.Join(tp.rules.Merge, ", "))
	}
	if len(c.plans) >= 4096 { // table versions of a long-running job: forget the old ones
		clear(c.plans)
	}
	c.plans[src] = tp
	return tp, nil
}

func newTablePlan(src *schema.Table, p *TablePlan, engine string, routing int) (*tablePlan, error) {
	srcCols, tgtCols := p.SourceColumns, p.TargetColumns
	if p.Rules != nil {
		srcCols, tgtCols = p.Rules.SourceColumns, p.Rules.TargetColumns[:len(p.Rules.SourceColumns)]
	}
	if srcCols == nil {
		srcCols, tgtCols = src.Names(), src.Names()
	}
	if len(srcCols) != len(tgtCols) {
		return nil, fmt.Errorf("plan of %s: %d source columns for %d target columns", src, len(srcCols), len(tgtCols))
	}
	tp := &tablePlan{src: src}
	at := &connector.ApplyTable{Table: p.Target, Columns: tgtCols, SourceTypes: make([]schema.Type, len(srcCols))}
	identity := len(srcCols) == len(src.Columns)
	proj := make([]int, len(srcCols))
	for i, name := range srcCols {
		j := src.ColumnIndex(name)
		if j < 0 {
			return nil, fmt.Errorf("plan of %s: no source column %s", src, name)
		}
		if _, ok := p.Target.Column(tgtCols[i]); !ok {
			return nil, fmt.Errorf("plan of %s: the target table %s has no column %s", src, p.Target, tgtCols[i])
		}
		proj[i] = j
		at.SourceTypes[i] = src.Columns[j].Type
		identity = identity && j == i
	}
	if !identity {
		tp.proj = proj
	}
	tp.rules, tp.window = p.Rules, p.Window
	if p.Rules != nil {
		for _, a := range p.Rules.Added {
			if _, ok := p.Target.Column(a.Name); !ok {
				return nil, fmt.Errorf("plan of %s: the target table %s has no column %s", src, p.Target, a.Name)
			}
			at.Columns = append(at.Columns, a.Name)
			at.SourceTypes = append(at.SourceTypes, a.Type)
		}
	}
	key := src.ChunkKey()
	for _, k := range key {
		i := indexOf(srcCols, k)
		if i < 0 { // the key is not written: rows cannot be identified by it
			key = nil
			break
		}
		at.Key = append(at.Key, tgtCols[i])
		tp.keySrc = append(tp.keySrc, proj[i])
		tp.keyAt = append(tp.keyAt, i)
		c, _ := src.Column(k)
		tp.keyText = append(tp.keyText, c.Type.IsText())
		tp.keyFloat = append(tp.keyFloat, c.Type.Kind == schema.KindFloat32 || c.Type.Kind == schema.KindFloat64)
		tp.keyInt = append(tp.keyInt, c.Type.IsInteger() && routing >= routingBlocks)
	}
	if key == nil {
		at.Key, tp.keySrc, tp.keyAt, tp.keyText, tp.keyFloat, tp.keyInt = nil, nil, nil, nil, nil, nil
	}
	tp.at = at
	tp.byTable, tp.why = routeByTable(src, p.Target, at.Key, key, engine)
	// Routing follows the target table: the merged tables' changes of one
	// target key meet on one worker, in source order (a delete in one
	// shard before an insert of the key in another).
	h := fnv.New64a()
	if tp.merges() {
		h.Write([]byte(p.Target.QualifiedName()))
	} else {
		h.Write([]byte(src.QualifiedName()))
	}
	tp.seed = h.Sum64()
	if tp.merges() && key != nil {
		for _, a := range p.Rules.Added {
			if a.Deterministic() {
				at.Key = append(at.Key, a.Name)
				tp.guard = append(tp.guard, a.Value(src, change.OpInsert, time.Time{}))
			}
		}
	}
	return tp, nil
}

// guarded returns a key of the table's updates and deletes as the target
// matches it: the row key, then the merged table's guard values.
func (tp *tablePlan) guarded(key value.Row) value.Row {
	if tp.guard == nil || key == nil || tp.keySrc == nil {
		return key
	}
	return append(key[:len(key):len(key)], tp.guard...)
}

// routeByTable says whether a table's rows can depend on each other other
// than through their key, so all its changes must stay on one worker in
// source order (docs/design/incremental.md, "Routing and ordering").
func routeByTable(src, target *schema.Table, targetKey, srcKey []string, engine string) (bool, string) {
	if len(srcKey) == 0 {
		return true, "it has no key: rows are identified by all their values"
	}
	for _, t := range []*schema.Table{src, target} {
		key := srcKey
		if t == target {
			key = targetKey
		}
		for _, ix := range t.Indexes {
			if ix.Unique && !ix.OnColumns(key) {
				return true, "it has a unique key besides its row key (" + ix.Name + ")"
			}
		}
		if len(t.PrimaryKey) > 0 && !sameNames(t.PrimaryKey, key) {
			return true, "its row key is a unique key besides the primary key"
		}
		for _, k := range key {
			c, ok := t.Column(k)
			if !ok || !c.Type.IsText() {
				continue
			}
			coll := c.Collation
			if coll == "" && t == src && isMySQL(engine) {
				coll = t.Collation
			}
			if insensitive(coll, t == src && engine == "postgresql") {
				return true, "its key column " + k + " compares text case- or accent-insensitively (" + coll + ")"
			}
		}
	}
	return false, ""
}

func isMySQL(engine string) bool { return engine == "mysql" || engine == "mariadb" }

var (
	// MySQL collation names: ..._ci, ..._ai_ci (case/accent-insensitive).
	insensitiveRe = regexp.MustCompile(`(?i)_(ci|ai)(_|$)`)
	// PostgreSQL collations known to be deterministic: C, POSIX, the
	// default, ucs_basic, pg_c_utf8, unicode, libc locales (en_US.utf8)
	// and the predefined ICU ones (und-x-icu). Only user-created ICU
	// collations can be nondeterministic.
	deterministicRe = regexp.MustCompile(`^((?i:c|posix)(\.(?i:[a-z0-9-]+))?|default|ucs_basic|pg_c_utf8|pg_unicode_fast|unicode|` +
		`[a-z]{2,3}_[A-Z]{2}(\.(?i:[a-z0-9-]+))?(@[a-z]+)?|.+-x-icu)$`)
)

// insensitive reports whether a collation may compare unequal strings as
// equal. PostgreSQL: nondeterministic collations are user-created ICU
// ones, whose names say nothing: any other than the known deterministic
// names counts.
func insensitive(coll string, postgres bool) bool {
	if coll == "" {
		return false
	}
	if insensitiveRe.MatchString(coll) {
		return true
	}
	if postgres {
		name := coll
		if i := strings.LastIndexByte(name, '.'); i >= 0 && strings.HasPrefix(name, `"`) { // "schema"."name"
			name = name[i+1:]
		}
		return !deterministicRe.MatchString(strings.Trim(name, `"`))
	}
	return false
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if indexOf(b, x) < 0 {
			return false
		}
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// targetColumn returns the target column a source column is written to.
func (tp *tablePlan) targetColumn(source string) (string, bool) {
	j := tp.src.ColumnIndex(source)
	if j < 0 {
		return "", false
	}
	for i := range tp.at.Columns {
		if tp.proj == nil && i == j || tp.proj != nil && tp.proj[i] == j {
			return tp.at.Columns[i], true
		}
	}
	return "", false
}

// project returns a source row's values for the target columns.
func (tp *tablePlan) project(row value.Row) value.Row {
	if tp.proj == nil || row == nil {
		return row
	}
	out := make(value.Row, len(tp.proj))
	for i, j := range tp.proj {
		out[i] = row[j]
	}
	return out
}

// targetRow returns a source row's values for the target columns: the
// copied ones, then the added ones for a change of op committed at at.
func (tp *tablePlan) targetRow(row value.Row, op change.Op, at time.Time) value.Row {
	out := tp.project(row)
	if out == nil || tp.rules == nil || len(tp.rules.Added) == 0 {
		return out
	}
	return tp.rules.AppendAdded(out[:len(out):len(out)], op, at) // never onto the source's row
}

// changed returns which target columns an update changes, from the
// source's full old and new rows. Added columns count as changed.
func (tp *tablePlan) changed(before, after value.Row) []bool {
	if len(before) != len(after) {
		return nil
	}
	return tp.perColumn(func(j int) bool {
		return (before[j] == nil) != (after[j] == nil) || string(before[j]) != string(after[j])
	})
}

// present returns which target columns an update carries (nil: all).
// Added columns are always written.
func (tp *tablePlan) present(missing []bool) []bool {
	any := false
	for _, m := range missing {
		any = any || m
	}
	if !any {
		return nil
	}
	return tp.perColumn(func(j int) bool { return j >= len(missing) || !missing[j] })
}

// perColumn marks each target column: an added one always, a copied one
// by f of its source ordinal.
func (tp *tablePlan) perColumn(f func(src int) bool) []bool {
	copied := len(tp.at.Columns)
	if tp.rules != nil {
		copied -= len(tp.rules.Added)
	}
	out := make([]bool, len(tp.at.Columns))
	for i := range out {
		j := i
		if tp.proj != nil && i < copied {
			j = tp.proj[i]
		}
		out[i] = i >= copied || f(j)
	}
	return out
}

// key returns the identity key's values in a source row; nil when one of
// them is missing (NULL, or not in a key-only old image).
func (tp *tablePlan) key(row value.Row, missing []bool) value.Row {
	if row == nil {
		return nil
	}
	k := make(value.Row, len(tp.keySrc))
	for i, j := range tp.keySrc {
		if j >= len(row) || row[j] == nil || j < len(missing) && missing[j] {
			return nil
		}
		k[i] = row[j]
	}
	return k
}

// hash is the routing hash of a key: values as the database compares them
// for equality, coarsely (trailing spaces dropped, -0 as 0), so that two
// keys the database holds equal always hash alike.
func (tp *tablePlan) hash(key value.Row) uint64 {
	h := tp.seed
	const prime = 1099511628211
	var block [20]byte
	for i, v := range key {
		if tp.keyInt[i] {
			v = intBlock(block[:0], v)
		}
		if tp.keyText[i] {
			v = []byte(strings.TrimRight(string(v), " "))
		}
		if tp.keyFloat[i] && string(v) == "-0" {
			v = []byte("0")
		}
		for _, b := range v {
			h ^= uint64(b)
			h *= prime
		}
		h ^= uint64(len(v)) + 0xff
		h *= prime
	}
	return h
}

// Routing schemes, stored with a job's checkpoints (a job keeps its own):
// 0 hashes each key's text; routingBlocks hashes integer keys by blocks
// (new jobs into MySQL and MariaDB: Options.BlockRouting).
const routingBlocks = 1

// keyBlockBits: integer keys route by blocks of 2^keyBlockBits (256)
// consecutive values, so that each worker writes runs of neighbouring
// rows. Keys hashed one by one spread a burst of ascending inserts over
// every worker row by row, and the workers then contend for the same pages
// of InnoDB's clustered index (MariaDB spent twice the CPU on the same
// inserts).
const keyBlockBits = 8

// intBlock is the decimal block number of an integer key's canonical
// text (the text itself when it is not an integer).
func intBlock(dst, v []byte) []byte {
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return strconv.AppendInt(dst, n>>keyBlockBits, 10)
	}
	if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
		return strconv.AppendUint(dst, n>>keyBlockBits, 10)
	}
	return v
}

func unidentified(t *schema.Table, what string) error {
	return errs.New(connector.CodeUnidentifiedRow, "a change of table %s cannot be applied: %s", t, what).
		WithFix("give the table a primary key, or a full old-row image on the source (MySQL binlog_row_image=FULL; PostgreSQL REPLICA IDENTITY FULL or a key)")
}

func fatalType(src *schema.Table, p connector.TypeProblem) error {
	return errs.New("OperationDenied.UnsupportedType", "table %s column %s (%s): %s", src, p.Column, p.Type, p.Reason).
		WithFix("leave the table or column out of the job, or change its type on the source")
}
