package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile job file from exhausting the process.
const (
	// MaxDocumentBytes bounds a job file or API request body.
	MaxDocumentBytes = 1 << 20
	maxDepth         = 32
	maxNodes         = 200_000 // after alias expansion: defeats "billion laughs"
)

type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindList
	kindMap
)

func (k nodeKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "list", "object"}[k]
}

// node is a parsed YAML or JSON document: one shape for both, so one binder
// decodes and checks either.
type node struct {
	kind nodeKind
	text string // scalar text as written (numbers keep their digits)
	list []*node
	keys []string
	vals []*node
	line int // 1-based, YAML only
}

// parseDocument parses YAML or JSON (JSON is detected by a leading '{').
func parseDocument(data []byte) (*node, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJSON(data)
	}
	return parseYAML(data)
}

// parseJSON parses one JSON value, refusing duplicate keys and trailing data.
func parseJSON(data []byte) (*node, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := jsonValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return n, nil
}

func jsonValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("unexpected end of input")
		}
		return nil, err
	}
	switch v := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, text: fmt.Sprint(v)}, nil
	case json.Number:
		return &node{kind: kindNumber, text: v.String()}, nil
	case string:
		return &node{kind: kindString, text: v}, nil
	case json.Delim:
		switch v {
		case '[':
			n := &node{kind: kindList}
			for dec.More() {
				item, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.list = append(n.list, item)
			}
			_, err := dec.Token() // ]
			return n, err
		case '{':
			n := &node{kind: kindMap}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := kt.(string)
				if seen[key] {
					return nil, fmt.Errorf("duplicate key %q", key)
				}
				seen[key] = true
				val, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, val)
			}
			_, err := dec.Token() // }
			return n, err
		}
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// parseYAML parses one YAML document. Anchors and aliases are expanded under a
// node budget; merge keys (<<) are honoured; duplicate keys are refused.
func parseYAML(data []byte) (*node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &node{kind: kindNull}, nil
		}
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid YAML: more than one document")
	}
	budget := maxNodes
	return yamlValue(&doc, 0, &budget)
}

func yamlValue(y *yaml.Node, depth int, budget *int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", y.Line, maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("document expands to more than %d values (aliases?)", maxNodes)
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kindNull}, nil
		}
		return yamlValue(y.Content[0], depth, budget)
	case yaml.AliasNode:
		return yamlValue(y.Alias, depth+1, budget)
	case yaml.ScalarNode:
		n := &node{text: y.Value, line: y.Line}
		switch y.ShortTag() {
		case "!!null":
			n.kind = kindNull
		case "!!bool":
			n.kind = kindBool
			n.text = strings.ToLower(y.Value)
		case "!!int", "!!float":
			n.kind = kindNumber
		case "!!str", "!!timestamp", "!!binary":
			n.kind = kindString
		default:
			return nil, fmt.Errorf("line %d: unsupported YAML tag %s", y.Line, y.ShortTag())
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: kindList, line: y.Line}
		for _, c := range y.Content {
			item, err := yamlValue(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, item)
		}
		return n, nil
	case yaml.MappingNode:
		n := &node{kind: kindMap, line: y.Line}
		var merges []*node
		seen := map[string]int{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			val, err := yamlValue(v, depth+1, budget)
			if err != nil {
				return nil, err
			}
			if k.ShortTag() == "!!merge" {
				merges = append(merges, val)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: object keys must be plain names", k.Line)
			}
			if first, dup := seen[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q (first at line %d)", k.Line, k.Value, first)
			}
			seen[k.Value] = k.Line
			n.keys = append(n.keys, k.Value)
			n.vals = append(n.vals, val)
		}
		for _, m := range merges {
			if err := n.merge(m); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
}

// merge adds the keys of a YAML merge source (an object or a list of objects)
// that n does not have yet.
func (n *node) merge(src *node) error {
	srcs := []*node{src}
	if src.kind == kindList {
		srcs = src.list
	}
	for _, s := range srcs {
		if s.kind != kindMap {
			return fmt.Errorf("line %d: a merge key (<<) needs an object", n.line)
		}
		for i, k := range s.keys {
			if n.lookup(k) == nil {
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, s.vals[i])
			}
		}
	}
	return nil
}

func (n *node) lookup(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// appendJSON appends n as JSON: how a part of a document is kept raw
// (action params) for its own decoder.
func (n *node) appendJSON(b []byte) []byte {
	switch n.kind {
	case kindNull:
		return append(b, "null"...)
	case kindBool:
		return append(b, n.text...)
	case kindNumber:
		if json.Valid([]byte(n.text)) {
			return append(b, n.text...)
		}
		return strconv.AppendQuote(b, n.text) // YAML-only spellings (0x1F, .inf) stay text
	case kindString:
		q, _ := json.Marshal(n.text)
		return append(b, q...)
	case kindList:
		b = append(b, '[')
		for i, item := range n.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = item.appendJSON(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i, k := range n.keys {
		if i > 0 {
			b = append(b, ',')
		}
		q, _ := json.Marshal(k)
		b = append(append(b, q...), ':')
		b = n.vals[i].appendJSON(b)
	}
	return append(b, '}')
}
