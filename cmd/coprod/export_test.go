package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// TestTenantsExportImportCLI moves a municipality to another database with
// the documented commands.
func TestTenantsExportImportCLI(t *testing.T) {
	t.Parallel()
	src, dst := postgrestest.New(t), postgrestest.New(t)
	cli := func(db *postgrestest.DB, args ...string) (string, string, error) {
		var out, errOut strings.Builder
		err := run(t.Context(), append([]string{"tenants"}, args...), env("COPROD_DATABASE_URL", db.AppURL), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, _, err := cli(src, "create", "--slug", "regione-lombardia", "--name", "Lombardia", "--kind", "region", "--istat", "03", "--activate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(src, "create", "--slug", "milano", "--name", "Milano", "--kind", "municipality", "--istat", "015146", "--region", "regione-lombardia", "--activate"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "milano.ndjson")
	// Flags after the tenant, as documented.
	_, log, err := cli(src, "export", "milano", "-o", file)
	if err != nil || !strings.Contains(log, `"msg":"tenant exported"`) {
		t.Fatalf("export: %v %s", err, log)
	}
	if fi, err := os.Stat(file); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", fi.Mode())
	}
	stdout, _, err := cli(src, "export", "milano")
	saved, _ := os.ReadFile(file)
	// Both carry the same rows; only the header's time differs.
	if err != nil || len(saved) == 0 || cut(stdout) != cut(string(saved)) {
		t.Fatalf("export to stdout: %v\n%s\nvs file\n%s", err, stdout, saved)
	}
	if _, _, err := cli(src, "export", "atlantide", "-o", filepath.Join(t.TempDir(), "x")); exitCode(err) != 2 || !strings.Contains(err.Error(), "tenant_not_found") {
		t.Errorf("export of an unknown tenant: %v", err)
	}
	if _, _, err := cli(src, "import", "-i", file); exitCode(err) != 2 || !strings.Contains(err.Error(), "tenant_exists") {
		t.Errorf("import where the tenant exists: %v", err)
	}
	out, _, err := cli(src, "import", "-i", file, "--skip-existing")
	if err != nil || !strings.Contains(out, "imported milano") || !strings.Contains(out, ": 0 rows into") {
		t.Errorf("import --skip-existing over itself: %v %s", err, out)
	}
	out, _, err = cli(dst, "import", "-i", file)
	if err != nil || !strings.Contains(out, "imported milano") {
		t.Fatalf("import into another database: %v %s", err, out)
	}
	if out, _, err := cli(dst, "show", "milano"); err != nil || !strings.Contains(out, `"Status": "active"`) {
		t.Errorf("the imported tenant: %v %s", err, out)
	}
	again, _, err := cli(dst, "export", "milano")
	if err != nil || cut(again) != cut(string(saved)) {
		t.Errorf("export from the other database differs: %v\n%s\nvs\n%s", err, again, saved)
	}
	if _, _, err := cli(dst, "import", "-i", filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("import of a missing file")
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(dst, "import", "-i", file); exitCode(err) != 2 || !strings.Contains(err.Error(), "export_corrupt") {
		t.Errorf("import of an empty file: %v", err)
	}
}

// cut drops the header's time and the checksum that covers it.
func cut(export string) string {
	lines := strings.Split(strings.TrimSpace(export), "\n")
	if len(lines) < 2 {
		return ""
	}
	head := lines[0]
	if i := strings.Index(head, `"exportedAt"`); i >= 0 {
		head = head[:i]
	}
	return head + "\n" + strings.Join(lines[1:len(lines)-1], "\n")
}
