package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// TestMain runs the tests, or, with COPROD_TEST_EXEC=1, coprod itself: tests
// that need a coprod process to kill re-execute the test binary.
func TestMain(m *testing.M) {
	if os.Getenv("COPROD_TEST_EXEC") == "1" {
		main()
		os.Exit(0)
	}
	// Processes re-executed by tests take any free port for metrics, not 9090,
	// and are not rate-limited (the limits' own tests set them).
	os.Setenv("COPROD_METRICS_ADDR", "127.0.0.1:0")
	os.Setenv("COPROD_RATE_TENANT", "0")
	os.Setenv("COPROD_RATE_CLIENT", "0")
	postgrestest.Main(m)
}

const testToken = "test-bootstrap-token-0123456789abcdef"

// env is an environment of the given pairs; metrics take any free port
// unless a pair says otherwise.
func env(kv ...string) func(string) string {
	// Tests that are not about the rate limits are not limited: a matrix of
	// 2,000 probes from one address would be.
	m := map[string]string{"COPROD_METRICS_ADDR": "127.0.0.1:0", "COPROD_RATE_TENANT": "0", "COPROD_RATE_CLIENT": "0"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// started runs `coprod args…` in the background and returns the base URL
// it serves on (read from its output) and a stop function that cancels it
// like SIGTERM and returns run's error.
func started(t *testing.T, getenv func(string) string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, getenv, pw, pw)
		pw.CloseWithError(io.EOF)
		errc <- err
	}()
	addr := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	found := make(chan string, 1)
	var out strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				found <- "http://" + m[1]
			}
		}
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("coprod did not stop within 60s")
			return nil
		}
	}
	select {
	case base := <-found:
		return base, stop
	case err := <-errc:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("coprod %v exited early: %v\n%s", args, err, out.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("coprod %v did not start serving within 90s", args)
	}
	return "", stop
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func TestServe(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	base, stop := started(t, env("COPROD_DATABASE_URL", db.AppURL, "COPROD_LISTEN", "127.0.0.1:0", "COPROD_BOOTSTRAP_TOKEN", testToken,
		"COPROD_SECRETS_KEY", strings.Repeat("0f", 32)), "serve")
	if status, body := get(t, base+"/readyz", ""); status != 200 || body["status"] != "ready" {
		t.Errorf("readyz: %d %v", status, body)
	}
	if status, _ := get(t, base+"/v1/tenants", testToken); status != 200 {
		t.Errorf("list tenants with the bootstrap token: %d", status)
	}
	if err := stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}

// The service refuses a database role that could see across tenants.
func TestServeRefusesPrivilegedRole(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	for name, url := range map[string]string{"owner": db.OwnerURL, "superuser": db.SuperURL} {
		err := run(t.Context(), []string{"serve"}, env("COPROD_DATABASE_URL", url, "COPROD_LISTEN", "127.0.0.1:0"), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "row-level security") && !strings.Contains(err.Error(), "owns") {
			t.Errorf("serve as %s: %v, want a refusal", name, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"serve"}, env(
		"COPROD_DATABASE_URL", "postgres://a:secret@[bad",
		"COPROD_LISTEN", "8080",
		"COPROD_BOOTSTRAP_TOKEN", "short",
		"COPROD_LOG_LEVEL", "loud",
		"COPROD_SHUTDOWN_TIMEOUT", "-1s",
		"COPROD_PUBLIC_URL", "ftp://x",
		"COPROD_READ_HEADER_TIMEOUT", "0s",
		"COPROD_RATE_TENANT", "-1",
		"COPROD_RATE_CLIENT_BURST", "0",
	), io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("bad config: %v (exit %d), want a usage error", err, exitCode(err))
	}
	for _, want := range []string{"COPROD_DATABASE_URL", "COPROD_LISTEN", "COPROD_BOOTSTRAP_TOKEN", "COPROD_LOG_LEVEL", "COPROD_SHUTDOWN_TIMEOUT", "COPROD_PUBLIC_URL",
		"COPROD_READ_HEADER_TIMEOUT", "COPROD_RATE_TENANT", "COPROD_RATE_CLIENT_BURST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error echoes a password: %v", err)
	}
	if err := run(t.Context(), []string{"serve"}, env(), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "COPROD_DATABASE_URL") {
		t.Errorf("serve without a database: %v", err)
	}
	if err := run(t.Context(), []string{"frobnicate"}, env(), io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
}

const sample = `istat_code,name,province_code,province_abbr,region_code,region_name,population
015146,Milano,215,MI,03,Lombardia,1242123
016024,Bergamo,016,BG,03,Lombardia,115349
058091,Roma,258,RM,12,Lazio,2617175
`

func TestTenantsCLI(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	getenv := env("COPROD_DATABASE_URL", db.AppURL)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(sample, "058091", "05809X", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) {
		var out strings.Builder
		err := run(t.Context(), append([]string{"tenants"}, args...), getenv, &out, io.Discard)
		return out.String(), err
	}
	_, err := cli("import-istat", bad)
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("bad file: %v, want its line number", err)
	}
	if out, _ := cli("list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("after a bad file, tenants exist:\n%s", out)
	}
	out, err := cli("import-istat", "--activate", good)
	if err != nil || !strings.Contains(out, "2 regions and 3 municipalities created") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = cli("import-istat", good)
	if err != nil || !strings.Contains(out, "0 regions and 0 municipalities created, 0 updated, 5 unchanged") {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	if out, err = cli("suspend", "--reason", "test", "milano"); err != nil || !strings.Contains(out, `"Status": "suspended"`) {
		t.Fatalf("suspend: %v\n%s", err, out)
	}
	if _, err = cli("suspend", "milano"); exitCode(err) != 2 || !strings.Contains(err.Error(), "invalid_tenant_transition") {
		t.Errorf("suspend twice: %v", err)
	}
	if out, err = cli("list", "--region", "regione-lombardia", "--status", "suspended"); err != nil || !strings.Contains(out, "milano") || strings.Contains(out, "bergamo") {
		t.Errorf("list suspended of Lombardia: %v\n%s", err, out)
	}
	if out, err = cli("create", "--slug", "ambito-1", "--name", "Ambito 1", "--kind", "municipality", "--region", "regione-lazio", "--activate"); err != nil || !strings.Contains(out, `"Status": "active"`) {
		t.Errorf("create: %v\n%s", err, out)
	}
	if _, err = cli("show", "atlantide"); exitCode(err) != 2 || !strings.Contains(err.Error(), "tenant_not_found") {
		t.Errorf("show unknown: %v", err)
	}
}

// TestDev runs the README's command on a fresh data folder: it must start
// its own PostgreSQL, serve, stop without leaving a server behind, and
// reuse the data on a second start.
func TestDev(t *testing.T) {
	t.Parallel()
	// Not t.TempDir(): it is private to root, and PostgreSQL runs as another
	// user when the tests run as root.
	parent, err := os.MkdirTemp("", "coprod-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(parent, "data")
	getenv := env("COPROD_DATA_DIR", dataDir, "COPROD_LISTEN", "127.0.0.1:0")
	for round := 1; round <= 2; round++ {
		base, stop := started(t, getenv, "dev")
		if status, _ := get(t, base+"/readyz", ""); status != 200 {
			t.Errorf("round %d: readyz %d", round, status)
		}
		token, err := os.ReadFile(filepath.Join(dataDir, "bootstrap-token"))
		if err != nil {
			t.Fatal(err)
		}
		status, body := get(t, base+"/v1/tenants", strings.TrimSpace(string(token)))
		if items, _ := body["items"].([]any); status != 200 || len(items) != 3 {
			t.Errorf("round %d: demo tenants: %d %v", round, status, body)
		}
		// The dev provider's tokens work for curl, each in its own tenant only.
		tokens, err := os.ReadFile(filepath.Join(dataDir, "dev-tokens.env"))
		if err != nil {
			t.Fatal(err)
		}
		officer := regexp.MustCompile(`COPROD_TOKEN_MILANO_OFFICER=(\S+)`).FindSubmatch(tokens)
		if officer == nil {
			t.Fatalf("no Milano officer token in:\n%s", tokens)
		}
		if status, body := get(t, base+"/v1/tenants/milano/me", string(officer[1])); status != 200 || !strings.Contains(fmt.Sprint(body["roles"]), "officer") {
			t.Errorf("round %d: officer token at Milano: %d %v", round, status, body)
		}
		if status, _ := get(t, base+"/v1/tenants/bergamo/me", string(officer[1])); status != 401 {
			t.Errorf("round %d: Milano's token at Bergamo: %d", round, status)
		}
		pid := postmasterPid(t, dataDir)
		if err := stop(); err != nil {
			t.Fatalf("round %d: stop: %v", round, err)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("round %d: postgres (pid %d) still runs after coprod dev stopped", round, pid)
		}
	}
}

func postmasterPid(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "pg", "data", "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	var pid int
	if _, err := fmtSscan(strings.SplitN(string(b), "\n", 2)[0], &pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

func fmtSscan(s string, pid *int) (int, error) { return fmt.Sscan(s, pid) }

// remember starts svc's hearing of changes of access, as serve does, and
// waits until it listens: tests then run with principals and tenants
// remembered (ADR 0022), so that they also check those are forgotten in time.
func remember(t testing.TB, svc *services, pool *pgxpool.Pool) {
	t.Helper()
	svc.watchAccess(t.Context(), pool, slog.New(slog.DiscardHandler))
	for deadline := time.Now().Add(10 * time.Second); !svc.store.Remembering(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the store did not start listening for changes of access")
		}
	}
}
