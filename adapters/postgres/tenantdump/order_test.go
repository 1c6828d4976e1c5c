package tenantdump

import (
	"slices"
	"strings"
	"testing"
)

func TestParentFirst(t *testing.T) {
	t.Parallel()
	fk := foreignKey{table: "tenants", target: "tenants", cols: []string{"region_id"}, refs: []string{"id"}}
	var rows []rowText
	// A municipality before its region, a region, a row pointing outside
	// the set, and a row that references itself.
	for _, js := range []string{`{"id":"m","region_id":"r"}`, `{"id":"x","region_id":"absent"}`, `{"id":"r","region_id":null}`,
		`{"id":"s","region_id":"s"}`, `{"id":"n","region_id":"m"}`} {
		rows = append(rows, rowText{json: js}) // parentFirst parses the values itself
	}
	got, err := parentFirst(rows, []foreignKey{fk})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, *r.vals["id"])
	}
	if want := []string{"x", "r", "s", "m", "n"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	cycle := []rowText{{json: `{"id":"a","region_id":"b"}`}, {json: `{"id":"b","region_id":"a"}`}}
	if _, err := parentFirst(cycle, []foreignKey{fk}); err == nil {
		t.Error("a cycle of rows was ordered")
	}
}

func TestTopoOrder(t *testing.T) {
	t.Parallel()
	tables := map[string]*table{
		"tenants":       {name: "tenants"},
		"calls":         {name: "calls", fks: []foreignKey{{target: "tenants"}}},
		"applications":  {name: "applications", fks: []foreignKey{{target: "calls"}, {target: "organisations"}}},
		"organisations": {name: "organisations"},
		"attachments":   {name: "attachments", fks: []foreignKey{{target: "applications"}}},
	}
	got, err := topoOrder(tables)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"organisations", "tenants", "calls", "applications", "attachments"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	tables["tenants"].fks = []foreignKey{{target: "attachments"}}
	if _, err := topoOrder(tables); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle of tables: %v", err)
	}
}
