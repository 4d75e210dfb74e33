package filter

import (
	"os"
	"testing"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// customers is the table most unit tests filter: crm.customers with a column
// of every kind filters support, and a few they do not.
func customers(d Dialect) *schema.Table {
	str := func(name string, k schema.Kind, coll string) schema.Column {
		c := schema.Column{Name: name, Type: schema.Type{Kind: k, Length: 20}, Nullable: true}
		if d == MySQL {
			c.Charset, c.Collation = "utf8mb4", coll
		}
		return c
	}
	t := &schema.Table{Schema: "crm", Name: "customers", Collation: "utf8mb4_general_ci", PrimaryKey: []string{"id"}}
	t.Columns = []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt64}},
		str("country", schema.KindChar, "utf8mb4_general_ci"),
		str("name", schema.KindVarChar, "utf8mb4_unicode_ci"),
		str("Mixed", schema.KindVarChar, "utf8mb4_unicode_ci"),
		str("code", schema.KindVarChar, "utf8mb4_bin"),
		{Name: "amount", Type: schema.Type{Kind: schema.KindDecimal, Precision: 12, Scale: 2}, Nullable: true},
		{Name: "score", Type: schema.Type{Kind: schema.KindFloat64}, Nullable: true},
		{Name: "ratio", Type: schema.Type{Kind: schema.KindFloat32}, Nullable: true},
		{Name: "small", Type: schema.Type{Kind: schema.KindInt16}, Nullable: true},
		{Name: "big", Type: schema.Type{Kind: schema.KindInt64, Unsigned: d == MySQL}, Nullable: true},
		{Name: "born", Type: schema.Type{Kind: schema.KindDate}, Nullable: true},
		{Name: "created_at", Type: schema.Type{Kind: schema.KindDateTime, FSP: 6}, Nullable: true},
		{Name: "seen", Type: schema.Type{Kind: schema.KindTimestamp, FSP: 6}, Nullable: true},
		{Name: "opens", Type: schema.Type{Kind: schema.KindTime}, Nullable: true},
		{Name: "doc", Type: schema.Type{Kind: schema.KindJSON}, Nullable: true},
		{Name: "password", Type: schema.Type{Kind: schema.KindBlob}, Nullable: true},
		str("order", schema.KindVarChar, "utf8mb4_general_ci"),
		str("a`b\"c", schema.KindVarChar, "utf8mb4_general_ci"),
		str("legacy", schema.KindVarChar, "latin1_swedish_ci"),
		str("tag", schema.KindEnum, "utf8mb4_general_ci"),
	}
	t.Columns[len(t.Columns)-1].Type.Values = []string{"new", "vip", "gone"}
	t.Columns[len(t.Columns)-2].Charset = "latin1"
	if d == MySQL {
		t.Columns = append(t.Columns, schema.Column{Name: "since", Type: schema.Type{Kind: schema.KindYear}, Nullable: true},
			str("m8", schema.KindVarChar, "utf8mb4_0900_ai_ci"))
	} else {
		t.Columns = append(t.Columns, schema.Column{Name: "active", Type: schema.Type{Kind: schema.KindBool}, Nullable: true},
			schema.Column{Name: "i32", Type: schema.Type{Kind: schema.KindInt32}, Nullable: true},
			schema.Column{Name: "custom", Type: schema.Type{Kind: schema.KindText}, Collation: `"public"."ci"`})
	}
	return t
}

func dialects() []Dialect { return []Dialect{MySQL, PostgreSQL} }
