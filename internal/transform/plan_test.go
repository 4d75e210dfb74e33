package transform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// sameTypes maps a table onto a target of the same engine: the table as it is.
type sameTypes struct{}

func (sameTypes) MapTable(src *schema.Table, _ string) (*schema.Table, []connector.TypeProblem) {
	t := *src
	return &t, nil
}

func customers(schemaName string) *schema.Table {
	vc := schema.Type{Kind: schema.KindVarChar, Length: 64, Raw: "varchar(64)"}
	const ci = "utf8mb4_general_ci"
	return &schema.Table{Schema: schemaName, Name: "customers",
		Columns: []schema.Column{
			{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}},
			{Name: "email", Type: vc, Nullable: true, Charset: "utf8mb4", Collation: ci},
			{Name: "ssn", Type: vc, Nullable: true, Charset: "utf8mb4", Collation: ci},
			{Name: "country", Type: schema.Type{Kind: schema.KindChar, Length: 2, Raw: "char(2)"}, Nullable: true, Charset: "utf8mb4", Collation: ci},
		},
		PrimaryKey: []string{"id"},
		Indexes: []schema.Index{
			{Name: "ix_ssn", Columns: []schema.IndexColumn{{Name: "ssn"}}},
			{Name: "ix_mail", Unique: true, Columns: []schema.IndexColumn{{Name: "email"}}},
		},
	}
}

func rulesSpec(rule job.TableRule) *job.Spec {
	return &job.Spec{
		Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EnginePostgreSQL},
		Phases: &job.Phases{Full: true, Incremental: true},
		Objects: job.Objects{{Key: "crm", Value: job.DatabaseRule{Name: "dw",
			Tables: job.Map[job.TableRule]{{Key: "customers", Value: rule}}}}},
	}
}

func compileOne(t *testing.T, spec *job.Spec, tables ...*schema.Table) ([]*Plan, error) {
	t.Helper()
	var refs []connector.TableRef
	for _, tb := range tables {
		refs = append(refs, connector.TableRef{Schema: tb.Schema, Name: tb.Name})
	}
	sel, err := Select(spec, refs)
	require.NoError(t, err)
	return NewCompiler(spec, sel, sameTypes{}).CompileAll(tables)
}

func TestPlanAppliesColumnRulesFilterAndAddedColumns(t *testing.T) {
	t.Parallel()
	spec := rulesSpec(job.TableRule{
		Name:    "clients",
		Filter:  "country = 'DE' AND id > 100",
		Columns: job.Map[job.ColumnRule]{{Key: "email", Value: job.ColumnRule{Name: "mail"}}, {Key: "SSN", Value: job.ColumnRule{Exclude: true}}},
		AddColumns: []job.AddColumn{
			{Name: "src_db", Type: "varchar(64)", From: job.FromDatabase},
			{Name: "op", Type: "char(6)", From: job.FromOperation},
			{Name: "at", Type: "timestamptz(3)", From: job.FromCommitTime},
			{Name: "shard", Type: "numeric(5,1)", From: job.FromConstant, Value: "7"},
		},
		DML: []string{job.DMLInsert, job.DMLUpdate},
	})
	plans, err := compileOne(t, spec, customers("crm"))
	require.NoError(t, err)
	p := plans[0]
	require.Equal(t, "dw.clients", p.Target.QualifiedName())
	require.Equal(t, []string{"id", "email", "country"}, p.SourceColumns)
	require.Equal(t, []string{"id", "mail", "country", "src_db", "op", "at", "shard"}, p.TargetColumns)
	require.Equal(t, []string{"id", "mail", "country", "src_db", "op", "at", "shard"}, p.Target.Names())
	require.Len(t, p.Target.Indexes, 1, "the index on the excluded column is dropped")
	require.Equal(t, "mail", p.Target.Indexes[0].Columns[0].Name)
	require.Len(t, p.Warnings, 1)
	require.Contains(t, p.Warnings[0], "ix_ssn")
	require.Equal(t, []string{"id", "country"}, p.Filter.Columns())
	require.False(t, p.Carries(change.OpDelete))
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	row := p.AppendAdded(value.Row{[]byte("1"), nil, nil}, change.OpUpdate, at)
	require.Equal(t, []string{"crm", "update", "2024-05-06 06:08:09.123", "7.0"},
		[]string{string(row[3]), string(row[4]), string(row[5]), string(row[6])})
	require.Equal(t, schema.KindTimestamp, p.SourceTypes[5].Kind)
}

func TestPlanRefusesWhatItCannotApply(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		rule job.TableRule
		want []string
	}{
		{"excluded key", job.TableRule{Columns: job.Map[job.ColumnRule]{{Key: "id", Value: job.ColumnRule{Exclude: true}}}},
			[]string{"objects.crm.tables.customers.columns.id: id is a column of the key of crm.customers (id)"}},
		{"rename onto an existing column", job.TableRule{Columns: job.Map[job.ColumnRule]{{Key: "email", Value: job.ColumnRule{Name: "SSN"}}}},
			[]string{`objects.crm.tables.customers.columns.email.name: "SSN" is also the target name of column ssn`}},
		{"unknown column", job.TableRule{Columns: job.Map[job.ColumnRule]{{Key: "nope", Value: job.ColumnRule{Exclude: true}}}},
			[]string{"objects.crm.tables.customers.columns.nope: the source table crm.customers has no column nope"}},
		{"filter on a column the table lacks", job.TableRule{Filter: "nope = 1"},
			[]string{"objects.crm.tables.customers.filter: "}},
		{"added column clashes", job.TableRule{AddColumns: []job.AddColumn{{Name: "Email", Type: "text", From: job.FromTable}}},
			[]string{`objects.crm.tables.customers.add_columns: "Email" is already the name of column email`}},
		{"added types", job.TableRule{AddColumns: []job.AddColumn{
			{Name: "a", Type: "integer", From: job.FromDatabase},
			{Name: "b", Type: "varchar(3)", From: job.FromOperation},
			{Name: "c", Type: "smallint", From: job.FromConstant, Value: "70000"},
			{Name: "d", Type: "datetime", From: job.FromCommitTime},
			{Name: "e", Type: "geometry", From: job.FromConstant, Value: "x"},
		}}, []string{
			"add_columns[0]: from: database fills text",
			"add_columns[1]: type varchar(3) cannot hold the operation",
			`add_columns[2]: value: "70000" is not an integer`,
			`add_columns[3].type: "datetime" is not a PostgreSQL type`,
			`add_columns[4].type: "geometry" is not a type dts can fill`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileOne(t, rulesSpec(c.rule), customers("crm"))
			require.Equal(t, errs.InvalidParameter, errs.CodeOf(err), "%v", err)
			e, _ := errs.As(err)
			require.Len(t, e.Fields, len(c.want), "%v", err)
			for i, w := range c.want {
				require.Contains(t, e.Fields[i].Error(), w)
			}
		})
	}
}

func TestPlanNonDeterministicAddedColumnNeedsAKey(t *testing.T) {
	t.Parallel()
	tb := customers("crm")
	tb.PrimaryKey, tb.Indexes = nil, nil
	_, err := compileOne(t, rulesSpec(job.TableRule{AddColumns: []job.AddColumn{{Name: "op", Type: "text", From: job.FromOperation}}}), tb)
	require.ErrorContains(t, err, "has no primary or unique key")

	spec := rulesSpec(job.TableRule{AddColumns: []job.AddColumn{{Name: "src", Type: "text", From: job.FromTable}}})
	_, err = compileOne(t, spec, tb)
	require.NoError(t, err, "a value that never changes identifies rows as well as the copied ones")
}

func TestPlanMergesNeedAgreeingStructures(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{
		Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EngineMariaDB},
		Objects: job.Objects{{Key: "shard_*", Value: job.DatabaseRule{Name: "all", Tables: job.Map[job.TableRule]{{Key: "customers", Value: job.TableRule{
			AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(20)", From: job.FromDatabase}},
		}}}}}},
	}
	a, b := customers("shard_1"), customers("shard_2")
	plans, err := compileOne(t, spec, a, b)
	require.NoError(t, err)
	require.Equal(t, []string{"shard_1.customers", "shard_2.customers"}, plans[1].Merge)

	b.Columns[3].Type = schema.Type{Kind: schema.KindChar, Length: 3, Raw: "char(3)"}
	_, err = compileOne(t, spec, a, b)
	require.ErrorContains(t, err, `objects.shard_*.tables.customers: shard_1.customers and shard_2.customers are merged into all.customers but their structures differ: column country is char(2) in one and char(3) in the other`)
}

func TestPlanGlobColumnRuleMustMatchSomewhere(t *testing.T) {
	t.Parallel()
	spec := rulesSpec(job.TableRule{})
	spec.Objects[0].Value.Tables[0].Key = "cust*"
	spec.Objects[0].Value.Tables[0].Value.Columns = job.Map[job.ColumnRule]{{Key: "sn", Value: job.ColumnRule{Exclude: true}}}
	_, err := compileOne(t, spec, customers("crm"))
	require.ErrorContains(t, err, `objects.crm.tables.cust*.columns.sn: no table this entry selects has a column sn`)
	spec.Objects[0].Value.Tables[0].Value.Columns[0].Key = "ssn"
	plans, err := compileOne(t, spec, customers("crm"))
	require.NoError(t, err)
	require.NotContains(t, plans[0].TargetColumns, "ssn")
}

// A merged table whose dml list leaves out insert is refused in a job with
// incremental sync, naming its dml field; a migration never reads dml.
func TestPlanMergedTablesCarryInserts(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{
		Type:   job.TypeSync,
		Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EnginePostgreSQL},
		Objects: job.Objects{
			{Key: "shard_1", Value: job.DatabaseRule{Name: "all", Tables: job.Map[job.TableRule]{{Key: "customers", Value: job.TableRule{
				DML: []string{job.DMLUpdate, job.DMLDelete}}}}}},
			{Key: "shard_2", Value: job.DatabaseRule{Name: "all", Tables: job.Map[job.TableRule]{{Key: "customers"}}}},
		},
	}
	spec.Normalize()
	_, err := compileOne(t, spec, customers("shard_1"), customers("shard_2"))
	require.ErrorContains(t, err, "objects.shard_1.tables.customers.dml: shard_1.customers is merged into all.customers with shard_2.customers but its dml list leaves out insert")
	require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))
	require.NotContains(t, err.Error(), "objects.shard_2.tables.customers.dml", "the other table carries inserts")

	spec.Objects[0].Value.Tables[0].Value.DML = []string{job.DMLInsert, job.DMLUpdate}
	_, err = compileOne(t, spec, customers("shard_1"), customers("shard_2"))
	require.NoError(t, err, "insert without delete still merges")

	spec.Objects[0].Value.Tables[0].Value.DML = []string{job.DMLUpdate}
	spec.Type, spec.Phases = job.TypeMigration, nil
	spec.Normalize()
	_, err = compileOne(t, spec, customers("shard_1"), customers("shard_2"))
	require.NoError(t, err, "a migration copies rows; its dml list is not read")
}
