// Package transform compiles a job's object rules into one plan per table:
// which source tables move, under which target names, with which columns.
// Structure, full load, incremental sync and compare all use the same plan,
// so they can never disagree about what moves where.
package transform

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// MetaSchema is the database/schema where dts keeps its bookkeeping on a
// target; it is never selected from a source.
const MetaSchema = "dts_meta"

// Selected is one source table the job moves, with its target names and rule.
type Selected struct {
	Source connector.TableRef
	Target connector.TableRef
	// ObjectKey and TableKey name the job-file entries that selected the
	// table (TableKey is empty when only all: true did), for messages.
	ObjectKey string
	TableKey  string
	// Rule is the table's rule (zero when none was given).
	Rule job.TableRule
	// named says the user gave the target a name (the database's or the
	// table's): several sources landing on it is a declared shard merge.
	named bool
}

// Select resolves the job's objects against the source's tables. A database
// entry is matched by its exact key first, then by the first glob in file
// order; the same for tables inside it. Explicit (non-glob) table keys that
// match no source table are errors. A target name given explicitly is used
// as is; rename_rule's prefix and suffix apply to the names that were not
// given. Several tables may land on one target table only when each of them
// got there by a name the user gave (a shard merge, declared by giving them
// the same name); otherwise that is an error.
func Select(spec *job.Spec, tables []connector.TableRef) ([]Selected, error) {
	var out []Selected
	var problems []errs.FieldError
	found := map[string]bool{} // "objectKey\x00tableKey" that matched something
	for _, ref := range tables {
		s, ok := selectOne(spec, ref)
		if !ok {
			continue
		}
		if s.TableKey != "" {
			found[s.ObjectKey+"\x00"+s.TableKey] = true
		}
		out = append(out, s)
	}
	for _, db := range spec.Objects {
		for _, t := range db.Value.Tables {
			if !isGlob(t.Key) && !isGlob(db.Key) && !found[db.Key+"\x00"+t.Key] {
				problems = append(problems, errs.FieldError{
					Path:    fmt.Sprintf("objects.%s.tables.%s", db.Key, t.Key),
					Message: fmt.Sprintf("the source has no table %s.%s", db.Key, t.Key),
				})
			}
		}
	}
	problems = append(problems, clashes(out)...)
	if len(out) == 0 && len(problems) == 0 {
		problems = append(problems, errs.FieldError{Path: "objects", Message: "selects no table of the source: check the database/schema names and globs"})
	}
	if len(problems) > 0 {
		return nil, errs.Invalid(problems)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source.String() < out[j].Source.String() })
	return out, nil
}

// lookup finds the entry for name: the exact key first, then the first glob
// that matches.
func lookup[V any](m job.Map[V], name string) (string, V, bool) {
	if v, ok := m.Get(name); ok {
		return name, v, true
	}
	for _, e := range m {
		if isGlob(e.Key) {
			if ok, _ := path.Match(e.Key, name); ok {
				return e.Key, e.Value, true
			}
		}
	}
	var zero V
	return "", zero, false
}

func targetName(spec *job.Spec, given, source string) string {
	if given != "" {
		return given
	}
	return spec.RenameRule.Prefix + source + spec.RenameRule.Suffix
}

func isGlob(key string) bool { return strings.ContainsAny(key, "*?[") }

// clashes reports source tables that would land on the same target table
// without a declared merge: one of them keeps its own (or rule-made) name.
func clashes(sel []Selected) []errs.FieldError {
	byTarget := map[string][]Selected{}
	for _, s := range sel {
		k := s.Target.String()
		byTarget[k] = append(byTarget[k], s)
	}
	var out []errs.FieldError
	for target, group := range byTarget {
		if len(group) < 2 {
			continue
		}
		var sources, unnamed []string
		for _, s := range group {
			sources = append(sources, s.Source.String())
			if !s.named {
				unnamed = append(unnamed, s.Source.String())
			}
		}
		if len(unnamed) == 0 {
			continue
		}
		sort.Strings(sources)
		sort.Strings(unnamed)
		out = append(out, errs.FieldError{Path: "objects", Message: fmt.Sprintf("%s all map onto the target table %s, but %s keeps its own name: "+
			"give them distinct names, or merge them on purpose by naming the target of each (name:)", strings.Join(sources, ", "), target, strings.Join(unnamed, ", "))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out
}

// Target returns where one source table goes, by the same rules as Select:
// for tables that appear while a job follows its source (CREATE TABLE in a
// database selected with all: true). False when the job does not move it.
func Target(spec *job.Spec, ref connector.TableRef) (connector.TableRef, bool) {
	s, ok := selectOne(spec, ref)
	return s.Target, ok
}

// selectOne resolves one source table against the job's objects.
func selectOne(spec *job.Spec, ref connector.TableRef) (Selected, bool) {
	if ref.Schema == MetaSchema {
		return Selected{}, false
	}
	dbKey, db, ok := lookup(spec.Objects, ref.Schema)
	if !ok {
		return Selected{}, false
	}
	tableKey, rule, hasRule := lookup(db.Tables, ref.Name)
	if !hasRule && !db.All {
		return Selected{}, false
	}
	if !hasRule {
		tableKey = ""
	}
	return Selected{
		Source:    ref,
		Target:    connector.TableRef{Schema: targetName(spec, db.Name, ref.Schema), Name: targetName(spec, rule.Name, ref.Name)},
		ObjectKey: dbKey,
		TableKey:  tableKey,
		Rule:      rule,
		named:     db.Name != "" || rule.Name != "",
	}, true
}
