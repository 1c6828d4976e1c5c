package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// unit reads a systemd unit file into key → values (keys may repeat).
func unit(t *testing.T, name string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	u := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		u[k] = append(u[k], v)
	}
	return u
}

// TestSystemdUnits: the service migrates first, runs unprivileged with its
// state folder the only writable place, outlives its drain on stop, and only
// the migration unit reads the owner's credentials.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	svc, mig, wrk := unit(t, "coprod.service"), unit(t, "coprod-migrate.service"), unit(t, "coprod-worker.service")
	env := parseEnvFile(t, filepath.Join("systemd", "coprod.env"))
	drain, err := time.ParseDuration(env["COPROD_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		u    map[string][]string
		exec string
	}{"coprod": {svc, "/usr/local/bin/coprod serve"}, "coprod-migrate": {mig, "/usr/local/bin/coprod migrate"}, "coprod-worker": {wrk, "/usr/local/bin/coprod worker"}} {
		if !slices.Equal(c.u["ExecStart"], []string{c.exec}) {
			t.Errorf("%s: ExecStart %q, want %q", name, c.u["ExecStart"], c.exec)
		}
		for k, v := range map[string]string{"User": "coprod", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "CapabilityBoundingSet": ""} {
			if !slices.Equal(c.u[k], []string{v}) {
				t.Errorf("%s: want %s=%s, got %q", name, k, v, c.u[k])
			}
		}
		if !slices.Contains(c.u["EnvironmentFile"], "/etc/coprod/coprod.env") {
			t.Errorf("%s: does not read /etc/coprod/coprod.env", name)
		}
		if slices.Contains(c.u["EnvironmentFile"], "/etc/coprod/migrate.env") != (name == "coprod-migrate") {
			t.Errorf("%s: the owner's credentials (migrate.env) belong to coprod-migrate alone", name)
		}
		if name != "coprod-migrate" {
			stop, err := time.ParseDuration(strings.Join(c.u["TimeoutStopSec"], "") + "s")
			if err != nil || stop <= drain {
				t.Errorf("%s: TimeoutStopSec %q must exceed COPROD_SHUTDOWN_TIMEOUT (%s)", name, c.u["TimeoutStopSec"], drain)
			}
			if !slices.Equal(c.u["StateDirectory"], []string{"coprod"}) || !strings.HasPrefix(env["COPROD_BLOB_DIR"], "/var/lib/coprod/") {
				t.Errorf("%s: uploaded files must live in the StateDirectory /var/lib/coprod, the only writable folder", name)
			}
		}
	}
	if !slices.Equal(mig["Type"], []string{"oneshot"}) || !slices.Contains(svc["Requires"], "coprod-migrate.service") || !slices.Contains(svc["After"], "coprod-migrate.service") {
		t.Error("coprod.service must require, and start after, the oneshot coprod-migrate.service")
	}
	// systemd's own checker, where systemd is installed (it wants the binary
	// in place, so the units are checked as copies pointing at the test build).
	if path, err := exec.LookPath("systemd-analyze"); err == nil {
		dir := t.TempDir()
		for _, name := range []string{"coprod.service", "coprod-migrate.service", "coprod-worker.service"} {
			b, err := os.ReadFile(filepath.Join("systemd", name))
			if err != nil {
				t.Fatal(err)
			}
			b = []byte(strings.ReplaceAll(string(b), "/usr/local/bin/coprod", coprodBinary(t)))
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command(path, "verify", "--man=no", filepath.Join(dir, "coprod.service"), filepath.Join(dir, "coprod-migrate.service"), filepath.Join(dir, "coprod-worker.service")).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
}

// TestSystemdEnvFileRuns: the VM's environment files set only variables
// coprod reads, and with them (database URLs and key swapped for a test
// database's) `coprod migrate` succeeds and `coprod serve` answers both probes.
func TestSystemdEnvFileRuns(t *testing.T) {
	t.Parallel()
	vars := configVars(t)
	env := parseEnvFile(t, filepath.Join("systemd", "coprod.env"))
	migrate := parseEnvFile(t, filepath.Join("systemd", "migrate.env"))
	for _, e := range []map[string]string{env, migrate} {
		for k := range e {
			if !vars[k] {
				t.Errorf("sets %s, which coprod does not read (cmd/coprod/config.go)", k)
			}
		}
	}
	if len(migrate) != 1 || migrate["COPROD_MIGRATE_DATABASE_URL"] == "" {
		t.Errorf("migrate.env: want the owner's URL only, got %v", migrate)
	}
	if _, ok := env["COPROD_MIGRATE_DATABASE_URL"]; ok {
		t.Error("coprod.env: holds the schema owner's URL")
	}
	db := newDB(t)
	env["COPROD_DATABASE_URL"] = db.AppURL
	env["COPROD_SECRETS_KEY"] = newKey(t)
	env["COPROD_DATA_DIR"] = t.TempDir()
	withOwner := map[string]string{"COPROD_MIGRATE_DATABASE_URL": db.OwnerURL}
	for k, v := range env {
		withOwner[k] = v
	}
	if out, err := runCoprod(t, withOwner, "migrate"); err != nil {
		t.Fatalf("migrate with coprod.env and migrate.env: %v\n%s", err, out)
	}
	serveReady(t, env)
}
