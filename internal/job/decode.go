package job

import (
	"os"

	"github.com/dtsorg/dts/internal/errs"
)

// DecodeOptions says how a document is decoded.
type DecodeOptions struct {
	// LookupEnv, when set, expands ${env:NAME} in string values (and in
	// numbers written as a single reference). Set it for job files a user
	// runs or submits from their own shell; leave it nil for API request
	// bodies, which must never read the server's environment.
	LookupEnv func(name string) (string, bool)
}

// FileOptions are the options for a job file read by the CLI.
func FileOptions() DecodeOptions { return DecodeOptions{LookupEnv: os.LookupEnv} }

// Decode parses a job file (YAML or JSON) strictly. Every problem found is
// reported at once as an InvalidParameter error with field paths. Decode does
// not validate values; call Validate for that.
func Decode(data []byte, opts DecodeOptions) (*Spec, error) {
	tree, err := parseDocument(data)
	if err != nil {
		return nil, errs.Invalid([]errs.FieldError{{Message: err.Error()}})
	}
	return bindSpec(tree, opts)
}

// DecodeJSON decodes a JSON document (an API body) strictly, without env expansion.
func DecodeJSON(data []byte) (*Spec, error) {
	tree, err := parseJSON(data)
	if err != nil {
		return nil, errs.Invalid([]errs.FieldError{{Message: err.Error()}})
	}
	return bindSpec(tree, DecodeOptions{})
}

// DecodeInto decodes a JSON or YAML document strictly into v (a pointer),
// for request bodies other than a job spec.
func DecodeInto(data []byte, v any) error {
	tree, err := parseDocument(data)
	if err != nil {
		return errs.Invalid([]errs.FieldError{{Message: err.Error()}})
	}
	b := binder{}
	b.bind(tree, v, "")
	return b.err()
}

func bindSpec(tree *node, opts DecodeOptions) (*Spec, error) {
	if tree.kind == kindNull {
		return nil, errs.Invalid([]errs.FieldError{{Message: "the document is empty"}})
	}
	var s Spec
	b := binder{env: opts.LookupEnv}
	b.bind(tree, &s, "")
	if err := b.err(); err != nil {
		return nil, err
	}
	return &s, nil
}
