package job

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/dtsorg/dts/internal/errs"
)

// Objects selects what a job moves, keyed by source MySQL database or
// PostgreSQL schema; keys may be globs (*, ?). Order is kept as written: when
// a database matches several keys, the first exact key wins, then the first glob.
type Objects = Map[DatabaseRule]

// DatabaseRule selects tables of one source database/schema (or of every one
// matching a glob) and names the target database/schema.
type DatabaseRule struct {
	// Name is the target database (MySQL) or schema (PostgreSQL); default: the source name.
	Name string `json:"name,omitempty"`
	// All selects every table, including tables created later during sync.
	All bool `json:"all,omitempty"`
	// Tables selects tables by name or glob and carries their rules. With All,
	// it only carries rules for the tables it names.
	Tables Map[TableRule] `json:"tables,omitempty"`
}

// TableRule shapes one selected table (or every table matching a glob).
type TableRule struct {
	Name       string          `json:"name,omitempty"`
	Filter     string          `json:"filter,omitempty"`
	Columns    Map[ColumnRule] `json:"columns,omitempty"`
	AddColumns []AddColumn     `json:"add_columns,omitempty"`
	DML        []string        `json:"dml,omitempty"`
}

// ColumnRule renames or leaves out one column.
type ColumnRule struct {
	Name    string `json:"name,omitempty"`
	Exclude bool   `json:"exclude,omitempty"`
}

// AddColumn is an extra target column filled on every row.
type AddColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// From is constant (with Value) | database | table | commit_time | operation.
	From  string `json:"from"`
	Value string `json:"value,omitempty"`
}

// Sources of an added column's value.
const (
	FromConstant   = "constant"
	FromDatabase   = "database"
	FromTable      = "table"
	FromCommitTime = "commit_time"
	FromOperation  = "operation"
)

// Map is a JSON/YAML object whose key order is kept.
type Map[V any] []Entry[V]

// Entry is one key of a Map.
type Entry[V any] struct {
	Key   string
	Value V
}

// Get returns the value under key.
func (m Map[V]) Get(key string) (V, bool) {
	for _, e := range m {
		if e.Key == key {
			return e.Value, true
		}
	}
	var zero V
	return zero, false
}

// Keys returns the keys in order.
func (m Map[V]) Keys() []string {
	keys := make([]string, len(m))
	for i, e := range m {
		keys[i] = e.Key
	}
	return keys
}

// bindKey appends key and returns a pointer to its value for the binder.
func (m *Map[V]) bindKey(key string) any {
	*m = append(*m, Entry[V]{Key: key})
	return &(*m)[len(*m)-1].Value
}

// MarshalJSON writes the map as an object in key order.
func (m Map[V]) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object strictly, keeping key order.
func (m *Map[V]) UnmarshalJSON(data []byte) error {
	t, err := parseJSON(data)
	if err != nil {
		return err
	}
	*m = nil
	var b binder
	b.bind(t, m, "")
	return b.err()
}

// AddObjects returns a copy of the spec whose objects also hold add: new
// database/schema entries, and new table entries of existing ones. It
// refuses (InvalidParameter, paths under prefix) an entry that would change
// what the job already selects or how: a started job's tables keep their
// rules. The result is validated.
func (s *Spec) AddObjects(add Objects, prefix string) (*Spec, error) {
	out := s.Clone()
	norm := &Spec{Objects: add} // defaults as the stored spec has them (dml), for comparing
	norm.Normalize()
	var problems []errs.FieldError
	added := 0
	for _, db := range norm.Objects {
		p := joinPath(prefix, db.Key)
		i := slices.IndexFunc(out.Objects, func(e Entry[DatabaseRule]) bool { return e.Key == db.Key })
		if i < 0 {
			out.Objects = append(out.Objects, db)
			added++
			continue
		}
		cur := &out.Objects[i].Value
		if db.Value.Name != "" && db.Value.Name != cur.Name || db.Value.All != cur.All && db.Value.All {
			problems = append(problems, errs.FieldError{Path: p, Message: "is already in the job: its name and all cannot change while the job runs; add tables to it"})
			continue
		}
		for _, t := range db.Value.Tables {
			tp := joinPath(p+".tables", t.Key)
			if old, ok := cur.Tables.Get(t.Key); ok {
				if !sameJSON(old, t.Value) {
					problems = append(problems, errs.FieldError{Path: tp, Message: "is already in the job: a table's rules cannot change while the job runs"})
				}
				continue
			}
			cur.Tables = append(cur.Tables, t)
			added++
		}
	}
	if len(problems) == 0 && added == 0 {
		problems = append(problems, errs.FieldError{Path: prefix, Message: "adds nothing the job does not select already"})
	}
	if len(problems) > 0 {
		return nil, errs.Invalid(problems)
	}
	out.Normalize()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}
