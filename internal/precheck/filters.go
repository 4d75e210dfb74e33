package precheck

import (
	"context"
	"fmt"

	"github.com/dtsorg/dts/internal/filter"
)

// checkFilters parses every selected table's row filter against the table's
// real columns, as the full load and the change stream do (internal/filter):
// a filter that names a column the table lacks, compares a number with a
// string, or uses anything outside the allow-list fails here, with the
// offending part named, instead of stopping the job later. A glob table
// rule's filter is checked against every table it selects.
func checkFilters(ctx context.Context, e *env) Outcome {
	if !hasFilters(e) {
		return passed("no row filters")
	}
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	var bad, good []string
	for _, t := range tables {
		text := t.sel.Rule.Filter
		if text == "" {
			continue
		}
		if _, err := filter.Parse(string(e.spec.Source.Engine), text, t.src); err != nil {
			bad = append(bad, fmt.Sprintf("%s (table %s): %s", filterPath(t.sel), t.src.QualifiedName(), errText(err)))
			continue
		}
		good = append(good, t.src.QualifiedName())
	}
	if len(bad) > 0 {
		return failed("row filters that cannot be applied (%d): %s", len(bad), limit(bad, 5)).
			with("invalid", bad).with("valid", good).
			fix("correct each filter in the job file: it is a condition on the table's own columns in the source's SQL dialect " +
				"(comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and a few functions; see objects.<db>.tables.<table>.filter in the job file reference)")
	}
	return passed("valid row filters on %d tables", len(good)).with("tables", good)
}

// hasFilters reports whether any table rule of the job has a filter.
func hasFilters(e *env) bool {
	for _, db := range e.spec.Objects {
		for _, t := range db.Value.Tables {
			if t.Value.Filter != "" {
				return true
			}
		}
	}
	return false
}

// filterPath is the job-file path of a selected table's filter.
func filterPath(s selected) string {
	return fmt.Sprintf("objects.%s.tables.%s.filter", s.ObjectKey, s.TableKey)
}
