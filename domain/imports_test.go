package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule keeps domain/ and tenants/ free of drivers, HTTP and
// adapters: they may use the standard library, uuid and each other.
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	for _, root := range []string{"./...", "../tenants/..."} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", root)
		cmd.Dir = "."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", root, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			first, _, _ := strings.Cut(pkg, "/")
			allowed := !strings.Contains(first, ".") || // standard library
				strings.HasPrefix(pkg, "github.com/google/uuid") ||
				strings.HasPrefix(pkg, "golang.org/x/text") || // Unicode normalisation for slugs
				strings.HasPrefix(pkg, "github.com/coprod/coprod/domain") ||
				strings.HasPrefix(pkg, "github.com/coprod/coprod/tenants")
			if !allowed || pkg == "net/http" || pkg == "database/sql" {
				t.Errorf("%s must not depend on %s", root, pkg)
			}
		}
	}
}
