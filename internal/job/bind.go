package job

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dtsorg/dts/internal/errs"
)

// binder decodes a parsed document into a Go value strictly: unknown fields,
// wrong types and out-of-range numbers are errors, and it keeps going after an
// error so one pass reports every problem with its field path.
type binder struct {
	problems []errs.FieldError
	// env, when set, expands ${env:NAME} in string values (job files read by
	// the CLI; never API bodies, which must not read the server's environment).
	env func(name string) (string, bool)
}

type keyBinder interface{ bindKey(key string) any }

func (b *binder) fail(path string, n *node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.line > 0 {
		msg += fmt.Sprintf(" (line %d)", n.line)
	}
	b.problems = append(b.problems, errs.FieldError{Path: path, Message: msg})
}

func (b *binder) err() error {
	if len(b.problems) == 0 {
		return nil
	}
	return errs.Invalid(b.problems)
}

// bind decodes n into the value ptr points to.
func (b *binder) bind(n *node, ptr any, path string) {
	if kb, ok := ptr.(keyBinder); ok {
		b.bindMap(n, kb, path)
		return
	}
	b.bindValue(n, reflect.ValueOf(ptr).Elem(), path)
}

func (b *binder) bindMap(n *node, kb keyBinder, path string) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindMap {
		b.fail(path, n, "must be an object, not a %s", n.kind)
		return
	}
	for i, k := range n.keys {
		b.bind(n.vals[i], kb.bindKey(k), joinPath(path, k))
	}
}

func (b *binder) bindValue(n *node, v reflect.Value, path string) {
	if v.CanAddr() {
		if kb, ok := v.Addr().Interface().(keyBinder); ok {
			b.bindMap(n, kb, path)
			return
		}
	}
	if v.Type() == rawMessageType {
		v.SetBytes(n.appendJSON(nil))
		return
	}
	if n.kind == kindNull {
		v.SetZero()
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		b.bindValue(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		b.bindStruct(n, v, path)
	case reflect.Slice:
		if n.kind != kindList {
			b.fail(path, n, "must be a list, not a %s", n.kind)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.list), len(n.list))
		for i, item := range n.list {
			b.bindValue(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		text, ok := b.scalarText(n, path)
		if ok {
			v.SetString(text)
		}
	case reflect.Bool:
		if n.kind != kindBool {
			b.fail(path, n, "must be true or false, not a %s", n.kind)
			return
		}
		v.SetBool(n.text == "true")
	case reflect.Int, reflect.Int32, reflect.Int64:
		text, ok := b.numberText(n, path)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			b.fail(path, n, "must be a whole number that fits %d bits, not %q", v.Type().Bits(), clip(text))
			return
		}
		v.SetInt(i)
	case reflect.Uint32, reflect.Uint64:
		text, ok := b.numberText(n, path)
		if !ok {
			return
		}
		u, err := strconv.ParseUint(text, 10, v.Type().Bits())
		if err != nil {
			b.fail(path, n, "must be a whole number from 0 to %d, not %q", uint64(math.MaxUint64)>>(64-v.Type().Bits()), clip(text))
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		text, ok := b.numberText(n, path)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			b.fail(path, n, "must be a finite number, not %q", clip(text))
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("job: binder cannot decode %s at %s", v.Type(), path))
	}
}

func (b *binder) bindStruct(n *node, v reflect.Value, path string) {
	if n.kind != kindMap {
		b.fail(path, n, "must be an object, not a %s", n.kind)
		return
	}
	fields := fieldsOf(v.Type())
	for i, k := range n.keys {
		idx, ok := fields[k]
		if !ok {
			b.fail(joinPath(path, k), n.vals[i], "unknown field; allowed here: %s", strings.Join(sortedKeys(fields), ", "))
			continue
		}
		b.bindValue(n.vals[i], v.Field(idx), joinPath(path, k))
	}
}

// scalarText returns a scalar's text for a string field, env-expanded.
// YAML numbers and booleans are taken as written (passwords like 12345).
func (b *binder) scalarText(n *node, path string) (string, bool) {
	if n.kind == kindList || n.kind == kindMap {
		b.fail(path, n, "must be a string, not a %s", n.kind)
		return "", false
	}
	return b.expand(n, path)
}

// numberText returns a number's text; a string is accepted only when it is an
// ${env:NAME} reference (ports templated from the environment).
func (b *binder) numberText(n *node, path string) (string, bool) {
	switch {
	case n.kind == kindNumber:
		return n.text, true
	case n.kind == kindString && b.env != nil && envRef.MatchString(n.text):
		return b.expand(n, path)
	}
	b.fail(path, n, "must be a number, not a %s", n.kind)
	return "", false
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

func (b *binder) expand(n *node, path string) (string, bool) {
	if b.env == nil || !strings.Contains(n.text, "${env:") {
		return n.text, true
	}
	ok := true
	out := envRef.ReplaceAllStringFunc(n.text, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		val, set := b.env(name)
		if !set {
			b.fail(path, n, "environment variable %s is not set", name)
			ok = false
		}
		return val
	})
	return out, ok
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

var fieldCache sync.Map // reflect.Type → map[string]int

// fieldsOf maps the JSON names of a struct's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]int)
	}
	f := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		f[name] = i
	}
	fieldCache.Store(t, f)
	return f
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinPath appends a key to a field path; keys that would read ambiguously
// are quoted.
func joinPath(path, key string) string {
	if key == "" || strings.ContainsAny(key, ". \"[]") {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
