package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const helperEnv = "PGCLUSTER_TEST_HELPER_DIR"

// TestMain doubles as the supervisor process that TestSupervisorKilled
// SIGKILLs: it starts a persistent cluster, reports it, and blocks.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		c, err := Start(context.Background(), Config{Dir: dir})
		if err != nil {
			fmt.Println("ERR", strings.ReplaceAll(err.Error(), "\n", " | "))
			os.Exit(1)
		}
		fmt.Printf("READY %d %d\n", c.Pid(), c.Port())
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // block until killed
		_ = c.Stop()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// clusterDir returns a fresh folder for a cluster. os.MkdirTemp puts it
// directly under /tmp, whose mode lets the RunAs user traverse it when we
// are root; t.TempDir() would not (its parent is a 0700 root folder, see
// TestRootUntraversableDir).
func clusterDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startCluster(t *testing.T, cfg Config) (*Cluster, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	d := time.Since(t0)
	t.Cleanup(func() { _ = c.Stop() })
	return c, d
}

func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.SuperuserURL("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func portClosed(port int) bool {
	nc, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		nc.Close()
		return false
	}
	return true
}

// processGone reports whether pid no longer runs (zombies count as gone:
// after our supervisor is killed, the reaper is init, not us).
func processGone(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// Format: pid (comm) state ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// groupGone reports whether no process of the postmaster's process group
// (postmaster + backends + auxiliary processes) is left.
func groupGone(pgid int) bool {
	return syscall.Kill(-pgid, 0) == syscall.ESRCH
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

func expectedUID(t *testing.T) int {
	t.Helper()
	if os.Geteuid() != 0 {
		return os.Geteuid()
	}
	ra, err := lookupRunAs("")
	if err != nil {
		t.Fatal(err)
	}
	return int(ra.uid)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBinDir(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if !hasServerBinaries(dir) {
		t.Fatalf("BinDir() = %s without initdb/postgres", dir)
	}
	t.Logf("BinDir() = %s", dir)
}

func TestEphemeral(t *testing.T) {
	dir := clusterDir(t)
	var log syncBuffer
	c, took := startCluster(t, Config{Dir: dir, Ephemeral: true, Log: &log})
	t.Logf("fresh ephemeral Start (initdb + start + ready): %v", took)

	conn := connect(t, c)
	if got := queryString(t, conn, "SELECT 'ok'"); got != "ok" {
		t.Fatalf("SELECT = %q", got)
	}
	if got := queryString(t, conn, "SELECT current_setting('listen_addresses')"); got != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q", got)
	}
	if got := queryString(t, conn, "SELECT current_setting('fsync')"); got != "off" {
		t.Fatalf("fsync = %q, want off for Ephemeral", got)
	}
	if got := queryString(t, conn, "SELECT current_setting('server_encoding')"); got != "UTF8" {
		t.Fatalf("server_encoding = %q", got)
	}
	if got := queryString(t, conn, "SELECT current_setting('unix_socket_directories')"); got != c.SocketDir() {
		t.Fatalf("unix_socket_directories = %q, want %q", got, c.SocketDir())
	}
	if !strings.Contains(log.String(), "ready to accept connections") {
		t.Fatalf("Config.Log did not get the server log:\n%s", log.String())
	}

	// Password authentication is enforced.
	bad := strings.Replace(c.SuperuserURL("postgres"), ":"+c.password+"@", ":wrong@", 1)
	if conn2, err := pgx.Connect(context.Background(), bad); err == nil {
		conn2.Close(context.Background())
		t.Fatal("connected with a wrong password")
	}

	fi, err := os.Stat(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v, want 0600", fi.Mode().Perm())
	}
	pid := c.Pid()
	if uid := procUID(t, pid); uid != expectedUID(t) {
		t.Fatalf("postgres runs as uid %d, want %d", uid, expectedUID(t))
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != expectedUID(t) {
		t.Fatalf("credentials owned by uid %d, want %d", st.Uid, expectedUID(t))
	}

	conn.Close(context.Background())
	t0 := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop: %v", time.Since(t0))
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if !portClosed(c.Port()) {
		t.Fatalf("port %d still open after Stop", c.Port())
	}
	if !processGone(pid) || !groupGone(pid) {
		t.Fatalf("postgres (pid %d) or one of its children still running after Stop", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Ephemeral Dir %s not removed: %v", dir, err)
	}
}

func TestPersistence(t *testing.T) {
	dir := clusterDir(t)
	c, took := startCluster(t, Config{Dir: dir})
	t.Logf("fresh persistent Start: %v", took)
	if c.SocketDir() != filepath.Join(dir, "run") {
		t.Fatalf("SocketDir = %s, want %s/run", c.SocketDir(), dir)
	}
	conn := connect(t, c)
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	pid, port, url1 := c.Pid(), c.Port(), c.SuperuserURL("postgres")
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !portClosed(port) || !processGone(pid) || !groupGone(pid) {
		t.Fatalf("server still around after Stop (pid %d, port %d)", pid, port)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("data lost after Stop of a persistent cluster: %v", err)
	}

	// A postmaster.pid naming a live process that is not our postmaster
	// (pid reuse after a reboot or container restart) must not block us.
	if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte("1\n"+filepath.Join(dir, "data")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c2, took := startCluster(t, Config{Dir: dir})
	t.Logf("restart of existing cluster: %v", took)
	conn2 := connect(t, c2)
	if got := queryString(t, conn2, "SELECT v FROM kept"); got != "hello" {
		t.Fatalf("kept.v = %q", got)
	}
	if c2.password != c.password {
		t.Fatal("password not reused from credentials")
	}
	if c2.Port() == port && c2.SuperuserURL("postgres") != url1 {
		t.Fatal("URL changed with the same port")
	}
	conn2.Close(context.Background())
	if err := c2.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestSecondStartFails(t *testing.T) {
	dir := clusterDir(t)
	c, took := startCluster(t, Config{Dir: dir, Ephemeral: true})
	t.Logf("first Start: %v", took)

	t0 := time.Now()
	_, err := Start(context.Background(), Config{Dir: dir, Ephemeral: true})
	if err == nil {
		t.Fatal("second Start on a running Dir succeeded")
	}
	want := fmt.Sprintf("already running, pid %d", c.Pid())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	t.Logf("second Start failed after %v: %v", time.Since(t0), err)

	// The failed Start must not have damaged the running (ephemeral) cluster.
	conn := connect(t, c)
	if got := queryString(t, conn, "SELECT 'still here'"); got != "still here" {
		t.Fatal(got)
	}
}

func TestLongDirUsesShortSocketDir(t *testing.T) {
	base := clusterDir(t)
	// Our own folder: let RunAs traverse it when we are root.
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, strings.Repeat("a-rather-long-folder-name-", 4))
	c, _ := startCluster(t, Config{Dir: dir, Ephemeral: true})
	sock := c.SocketDir()
	if filepath.Dir(sock) != filepath.Clean(os.TempDir()) && filepath.Dir(sock) != "/tmp" {
		t.Fatalf("SocketDir = %s, want a short dir under %s", sock, os.TempDir())
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode %v", fi.Mode().Perm())
	}
	connect(t, c)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary socket dir %s not removed: %v", sock, err)
	}
}

func TestRootUntraversableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the traversal check only applies when running as root")
	}
	// t.TempDir() is /tmp/<TestName><random>/001 with a 0700 root-owned
	// parent, which the RunAs user cannot traverse.
	dir := filepath.Join(t.TempDir(), "pg")
	_, err := Start(context.Background(), Config{Dir: dir, Ephemeral: true})
	if err == nil {
		t.Fatal("Start succeeded in a folder RunAs cannot reach")
	}
	if !strings.Contains(err.Error(), "cannot traverse "+filepath.Dir(filepath.Dir(dir))) ||
		!strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("unclear error: %v", err)
	}
	t.Logf("error: %v", err)
}

// TestSupervisorKilled checks the point of Pdeathsig: when the supervising
// process is SIGKILLed, postgres shuts down cleanly (fast shutdown, not a
// crash) and the folder can be started again.
func TestSupervisorKilled(t *testing.T) {
	dir := clusterDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not report readiness")
	}
	var pid, port int
	if _, err := fmt.Sscanf(line, "READY %d %d", &pid, &port); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper: %q", line)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, 30*time.Second, "postgres to exit after its supervisor was SIGKILLed", func() bool {
		return processGone(pid) && portClosed(port)
	})

	var log syncBuffer
	c, took := startCluster(t, Config{Dir: dir, Log: &log})
	t.Logf("restart after supervisor SIGKILL: %v", took)
	connect(t, c)
	if s := log.String(); !strings.Contains(s, "database system was shut down at") {
		t.Fatalf("postgres did not shut down cleanly when its supervisor died; startup log:\n%s", s)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestTraverseCheck(t *testing.T) {
	ra := &runAs{name: "x", uid: 12345, gid: 12345}
	base := clusterDir(t)
	closed := filepath.Join(base, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ra.checkTraverse(filepath.Join(closed, "pg")); err == nil || !strings.Contains(err.Error(), closed) {
		t.Fatalf("checkTraverse through a 0700 dir of another user: %v", err)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := ra.checkTraverse(filepath.Join(base, "pg")); err != nil {
		t.Fatalf("checkTraverse through o+x dirs: %v", err)
	}
}
