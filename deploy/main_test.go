package deploy_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// root is the repository, seen from this package's folder.
const root = ".."

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "coprod-deploy-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	postgrestest.Shutdown()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// configVars are the variables coprod reads: the settings table of
// cmd/coprod/config.go, which the README documents.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "cmd", "coprod", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{env: "(COPROD_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		vars[m[1]] = true
	}
	if len(vars) < 20 || !vars["COPROD_DATABASE_URL"] || !vars["COPROD_SECRETS_KEY"] {
		t.Fatalf("read %d variables from config.go; has its settings table changed shape?", len(vars))
	}
	return vars
}

// parseEnvFile reads KEY=VALUE lines (systemd EnvironmentFile and Kustomize
// env files alike); comments and blank lines are skipped.
func parseEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: not KEY=VALUE: %q", path, i+1, line)
		}
		env[k] = v
	}
	return env
}

func newKey(t *testing.T) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// runCoprod runs the built binary to completion with exactly env (plus PATH
// and HOME) and returns its combined output.
func runCoprod(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, coprodBinary(t), args...)
	cmd.Env = environ(env)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// environ is env plus PATH and HOME. The metrics listener (ADR 0013:
// COPROD_METRICS_ADDR, default :9090, busy means no start) is off, so that
// processes of parallel tests do not collide; a build without metrics
// ignores the variable.
func environ(env map[string]string) []string {
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "COPROD_METRICS_ADDR=off"}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// startCoprod starts `coprod <args>` with env, waits for the log line msg
// (JSON logs on stdout) and returns that line's fields and a stop function
// that sends SIGTERM and asserts a clean exit.
func startCoprod(t *testing.T, env map[string]string, msg string, args ...string) (map[string]any, func()) {
	t.Helper()
	cmd := exec.Command(coprodBinary(t), args...)
	cmd.Env = environ(env)
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	found := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
				found <- line
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	stop := func() {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Errorf("coprod %s after SIGTERM: %v\n%s", args[0], err, stderr.String())
		}
	}
	select {
	case line := <-found:
		return line, stop
	case err := <-exited:
		t.Fatalf("coprod %s exited before logging %q: %v\n%s", args[0], msg, err, stderr.String())
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("coprod %s did not log %q within a minute\n%s", args[0], msg, stderr.String())
	}
	return nil, nil
}

// serveReady starts `coprod serve` with env on a free loopback port and
// asserts that both probes answer 200, then stops it.
func serveReady(t *testing.T, env map[string]string) {
	t.Helper()
	line, stop := startCoprod(t, env, "serving", "serve", "--listen", "127.0.0.1:0", "--blob-dir", t.TempDir())
	defer stop()
	addr, _ := line["addr"].(string)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, resp.StatusCode)
		}
	}
}

func newDB(t *testing.T) *postgrestest.DB { return postgrestest.New(t) }

func runSh(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("sh", args...).CombinedOutput()
	return string(out), err
}
