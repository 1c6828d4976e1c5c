// Package pgcluster supervises a local PostgreSQL cluster built from the
// server binaries installed on the machine (no Docker, no downloads). It
// serves `coprod dev`, which keeps a persistent cluster in a project folder
// such as .coprod/pg, and the test suite, which starts one throwaway cluster
// per `go test` process.
//
// postgres runs as a direct child of our process rather than being
// daemonised by pg_ctl: with Pdeathsig the kernel makes it do a fast
// shutdown when we die, even by SIGKILL, so Ctrl-C or a killed test binary
// never leaves an orphan server holding the data folder and port. We do not
// use embedded-postgres either: it deletes its RuntimePath at every start
// (so it cannot keep a persistent cluster there), downloads binaries, and
// cannot run as root, which CI containers and this machine are.
//
// Layout of Config.Dir:
//
//	data/           the cluster (PGDATA); presence of data/PG_VERSION means "already initialised"
//	credentials     superuser password, one line, mode 0600 (also initdb's --pwfile)
//	postgres.log    initdb and server output, appended across runs
//	run/            Unix socket directory (unless the path is too long, see Config.Dir)
//	pgcluster.lock  flock held by the supervising process; content is its pid
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// Superuser is the name of the cluster's superuser role.
	Superuser = "postgres"

	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	quitTimeout  = 10 * time.Second
	// maxSocketPath is sun_path's 108 bytes minus the terminating NUL.
	maxSocketPath = 107
)

// Config describes where the cluster lives and how to run it.
type Config struct {
	// Dir is the cluster folder, created if missing (see the package doc
	// for its layout). If Dir/run/.s.PGSQL.<port> would exceed the Unix
	// socket path limit, the socket goes to a private short-lived directory
	// under os.TempDir() instead, removed on Stop.
	Dir string
	// Port is the loopback TCP port. 0 picks a free one at every Start.
	Port int
	// BinDir holds initdb and postgres; "" means discover them (see BinDir).
	BinDir string
	// RunAs is the OS user initdb and postgres run as when we are root
	// (PostgreSQL refuses root). "" means "postgres" if that user exists,
	// else "nobody". Ignored when not root: the server runs as us.
	RunAs string
	// Log receives a copy of initdb's and the server's output; nil discards
	// it. Dir/postgres.log gets it in any case.
	Log io.Writer
	// Ephemeral trades durability for speed (initdb --no-sync, fsync,
	// synchronous_commit and full_page_writes off) and removes Dir on Stop.
	// Meant for tests.
	Ephemeral bool
}

// Cluster is a running PostgreSQL server supervised by this process.
type Cluster struct {
	cfg      Config
	bin      string
	dir      string
	dataDir  string
	sockDir  string
	tempSock bool
	port     int
	password string
	ra       *runAs // nil when not root

	lock    *os.File
	logFile *os.File
	out     io.Writer
	tail    *tailBuffer

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // valid once done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start initialises the cluster in cfg.Dir if needed, starts postgres and
// waits (up to 60s, or ctx) until the superuser can run SELECT 1. ctx only
// bounds startup, not the server's lifetime: call Stop.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: Config.Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	bin := cfg.BinDir
	if bin == "" {
		if bin, err = BinDir(); err != nil {
			return nil, err
		}
	} else if err := checkBinDir(bin); err != nil {
		return nil, err
	}

	var ra *runAs
	if os.Geteuid() == 0 {
		if ra, err = lookupRunAs(cfg.RunAs); err != nil {
			return nil, err
		}
	}

	// Missing parents get 0755 so that RunAs can traverse what we create;
	// Dir itself is private.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if ra != nil {
		if err := ra.checkTraverse(dir); err != nil {
			return nil, err
		}
		if err := ra.chown(dir); err != nil {
			return nil, err
		}
	}

	c := &Cluster{
		cfg:     cfg,
		bin:     bin,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		ra:      ra,
		tail:    &tailBuffer{max: 8 << 10},
	}
	if err := c.acquireLock(); err != nil {
		return nil, err
	}
	// From here on the folder is ours: on failure stop what we started and
	// release (for Ephemeral, delete) everything.
	defer func() {
		if err != nil {
			_ = c.terminate()
			_ = c.release()
		}
	}()

	if err := c.checkStalePid(); err != nil {
		return nil, err
	}
	if err := c.openLog(); err != nil {
		return nil, err
	}
	if err := c.prepareCredentials(); err != nil {
		return nil, err
	}
	if err := c.initdbIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.prepareSocketDir(); err != nil {
		return nil, err
	}

	// With Port 0 another process may grab the port between our probe and
	// postgres' bind; retry a couple of times with a new port.
	for attempt := 1; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.run(ctx, port)
		if err == nil {
			return c, nil
		}
		if cfg.Port != 0 || attempt >= 3 || !c.exited() || !strings.Contains(c.tail.String(), "could not bind") {
			return nil, err
		}
	}
}

// Stop asks postgres for a fast shutdown (SIGINT: abort open transactions,
// checkpoint, exit) and waits for it; after 30s it escalates to SIGQUIT
// (immediate shutdown) and then SIGKILL of the whole process group. It then
// releases the folder and, if Ephemeral, deletes it. Stop is idempotent.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopErr = errors.Join(c.terminate(), c.release())
	})
	return c.stopErr
}

// SuperuserURL returns a libpq/pgx URL for db as the postgres superuser over
// TCP on the loopback interface.
func (c *Cluster) SuperuserURL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(Superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the server listens on (127.0.0.1 only).
func (c *Cluster) Port() int { return c.port }

// Pid returns the postmaster's process id.
func (c *Cluster) Pid() int { return c.cmd.Process.Pid }

// Dir returns the absolute cluster folder.
func (c *Cluster) Dir() string { return c.dir }

// SocketDir returns the directory holding the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.sockDir }

// Done is closed when the postgres process has exited, whether through
// Stop or not (e.g. a crash), so a long-running supervisor can react.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// acquireLock takes an exclusive flock on Dir/pgcluster.lock for the
// lifetime of the Cluster. It makes "already running" reliable even while
// the other owner is still in initdb, and makes it safe for a failed Start
// to clean up an Ephemeral folder. The lock dies with our process.
func (c *Cluster) acquireLock() error {
	path := filepath.Join(c.dir, "pgcluster.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := io.ReadAll(f)
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("pgcluster: lock %s: %w", path, err)
		}
		sup := strings.TrimSpace(string(owner))
		if pid, ok := readPostmasterPid(c.dataDir); ok && postmasterAlive(pid, c.dataDir) {
			return fmt.Errorf("pgcluster: cluster in %s already running, pid %d (supervised by pid %s)", c.dir, pid, sup)
		}
		return fmt.Errorf("pgcluster: cluster in %s already running or starting, supervised by pid %s", c.dir, sup)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	c.lock = f
	return nil
}

// checkStalePid looks at data/postmaster.pid. A dead pid is left to
// postgres, which recovers from it (and also checks shared memory for
// orphaned backends). A live postmaster on this data folder that we do not
// hold the lock for (e.g. started by pg_ctl, or surviving a supervisor on a
// system without Pdeathsig) is an error. A live pid that is provably not
// such a postmaster was reused after a reboot or container restart; postgres
// would refuse to start, so we remove the stale file.
func (c *Cluster) checkStalePid() error {
	pid, ok := readPostmasterPid(c.dataDir)
	if !ok {
		return nil
	}
	if postmasterAlive(pid, c.dataDir) {
		return fmt.Errorf("pgcluster: cluster in %s already running, pid %d (not supervised by pgcluster; stop it, e.g. with pg_ctl -D %s stop)", c.dir, pid, c.dataDir)
	}
	if syscall.Kill(pid, 0) != syscall.ESRCH {
		if err := os.Remove(filepath.Join(c.dataDir, "postmaster.pid")); err != nil {
			return fmt.Errorf("pgcluster: remove stale postmaster.pid: %w", err)
		}
	}
	return nil
}

func (c *Cluster) openLog() error {
	path := filepath.Join(c.dir, "postgres.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.logFile = f
	ws := []io.Writer{f, c.tail}
	if c.cfg.Log != nil {
		ws = append(ws, lenientWriter{c.cfg.Log})
	}
	// A comparable single writer lets exec use one pipe for stdout+stderr.
	c.out = io.MultiWriter(ws...)
	return nil
}

// prepareCredentials loads the superuser password from Dir/credentials, or
// generates one for a new cluster. The file is also initdb's --pwfile, so it
// must be readable by RunAs.
func (c *Cluster) prepareCredentials() error {
	path := filepath.Join(c.dir, "credentials")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		c.password = strings.TrimSpace(string(b))
		if c.password == "" {
			return fmt.Errorf("pgcluster: %s is empty", path)
		}
	case errors.Is(err, fs.ErrNotExist):
		if c.initialised() {
			return fmt.Errorf("pgcluster: %s holds a cluster but %s is missing, so the superuser password is unknown; "+
				"restore the file or delete %s to start from scratch", c.dir, path, c.dir)
		}
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		c.password = hex.EncodeToString(raw[:])
		if err := os.WriteFile(path, []byte(c.password+"\n"), 0o600); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	default:
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.ra != nil {
		return c.ra.chown(path, c.logFile.Name())
	}
	return nil
}

func (c *Cluster) initialised() bool {
	_, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION"))
	return err == nil
}

func (c *Cluster) initdbIfNeeded(ctx context.Context) error {
	if c.initialised() {
		if c.ra != nil {
			fi, err := os.Stat(c.dataDir)
			if err != nil {
				return fmt.Errorf("pgcluster: %w", err)
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != c.ra.uid {
				return fmt.Errorf("pgcluster: %s is owned by uid %d but PostgreSQL would run as %q (uid %d); set Config.RunAs accordingly or chown -R it",
					c.dataDir, st.Uid, c.ra.name, c.ra.uid)
			}
		}
		return nil
	}
	args := []string{
		"-D", c.dataDir,
		"-U", Superuser,
		"--auth=scram-sha-256",
		"--pwfile=" + filepath.Join(c.dir, "credentials"),
		"-E", "UTF8",
		"--locale=C",
	}
	if c.cfg.Ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "initdb"), args...)
	c.prepareCmd(cmd)
	fmt.Fprintf(c.logFile, "--- pgcluster %s: initdb %s\n", time.Now().Format(time.RFC3339), c.dataDir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgcluster: initdb failed: %w; output:\n%s", err, c.tail.String())
	}
	return nil
}

func (c *Cluster) prepareSocketDir() error {
	sock := filepath.Join(c.dir, "run")
	if len(sock)+len("/.s.PGSQL.65535") <= maxSocketPath {
		if err := os.Mkdir(sock, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Chmod(sock, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	} else {
		parent := os.TempDir()
		if len(parent)+len("/pgc-0123456789/.s.PGSQL.65535") > maxSocketPath {
			parent = "/tmp"
		}
		var err error
		if sock, err = os.MkdirTemp(parent, "pgc-"); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		c.tempSock = true
	}
	c.sockDir = sock
	if c.ra != nil {
		if c.tempSock {
			if err := c.ra.checkTraverse(sock); err != nil {
				return err
			}
		}
		return c.ra.chown(sock)
	}
	return nil
}

// run starts postgres on port and waits until it serves queries.
func (c *Cluster) run(ctx context.Context, port int) error {
	args := []string{
		"-D", c.dataDir,
		"-p", strconv.Itoa(port),
		"-k", c.sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_permissions=0700",
	}
	if c.cfg.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	c.prepareCmd(cmd)
	// Bound the wait for the output pipe if a straggling backend keeps it open.
	cmd.WaitDelay = 5 * time.Second
	c.tail.Reset()
	fmt.Fprintf(c.logFile, "--- pgcluster %s: postgres on 127.0.0.1:%d\n", time.Now().Format(time.RFC3339), port)
	// Fork from a fresh goroutine: it cannot be locked to its OS thread, and
	// Go never retires unlocked threads, so Pdeathsig (tied to the forking
	// thread) fires only when our process dies, even if the caller of Start
	// runs on a locked thread that exits later.
	started := make(chan error, 1)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd, c.port = cmd, port
	c.done = make(chan struct{})
	go func(done chan struct{}) {
		c.waitErr = cmd.Wait()
		close(done)
	}(c.done)

	if err := c.waitReady(ctx); err != nil {
		_ = c.terminate()
		return err
	}
	return nil
}

func (c *Cluster) prepareCmd(cmd *exec.Cmd) {
	cmd.Dir = c.dir
	cmd.Env = childEnv(c.ra)
	cmd.Stdout = c.out
	cmd.Stderr = c.out
	var cred *syscall.Credential
	if c.ra != nil {
		cred = c.ra.credential()
	}
	cmd.SysProcAttr = sysProcAttr(cred)
}

// waitReady polls, until the deadline, a TCP connect and then a real pgx
// connection running SELECT 1: the port opens before recovery finishes, and
// only a query proves the server accepts our credentials.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = c.ping(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgcluster: postgres exited during startup (%v); log tail:\n%s", c.waitErr, c.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres not ready on port %d: %w (last attempt: %v); log tail:\n%s",
				c.port, ctx.Err(), lastErr, c.tail.String())
		case <-tick.C:
		}
	}
}

func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	nc.Close()
	conn, err := pgx.Connect(ctx, c.SuperuserURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func (c *Cluster) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// terminate stops the postgres process if one was started.
func (c *Cluster) terminate() error {
	if c.cmd == nil {
		return nil
	}
	if c.exited() {
		if c.waitErr != nil {
			return fmt.Errorf("pgcluster: postgres had already exited: %w", c.waitErr)
		}
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	if c.waitExit(stopTimeout) {
		return c.exitErr()
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	if c.waitExit(quitTimeout) {
		return fmt.Errorf("pgcluster: postgres ignored fast shutdown for %v; sent SIGQUIT", stopTimeout)
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
	return fmt.Errorf("pgcluster: postgres ignored SIGINT and SIGQUIT; killed its process group")
}

func (c *Cluster) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

func (c *Cluster) exitErr() error {
	if c.waitErr != nil {
		return fmt.Errorf("pgcluster: postgres shutdown: %w; log tail:\n%s", c.waitErr, c.tail.String())
	}
	return nil
}

// release closes files, removes the temporary socket directory and, for an
// Ephemeral cluster, Dir itself, then drops the lock.
func (c *Cluster) release() error {
	var errs []error
	if c.logFile != nil {
		errs = append(errs, c.logFile.Close())
	}
	if c.tempSock && c.sockDir != "" {
		errs = append(errs, os.RemoveAll(c.sockDir))
	}
	if c.cfg.Ephemeral {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	if c.lock != nil {
		errs = append(errs, c.lock.Close()) // closing drops the flock
	}
	return errors.Join(errs...)
}

// childEnv is our environment minus PG* variables (PGDATA, PGPORT, PGHOST…
// would otherwise leak into initdb/postgres), with the RunAs identity.
func childEnv(ra *runAs) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if ra != nil && (strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=") || strings.HasPrefix(kv, "LOGNAME=")) {
			continue
		}
		env = append(env, kv)
	}
	if ra != nil {
		env = append(env, "HOME="+ra.home, "USER="+ra.name, "LOGNAME="+ra.name)
	}
	return env
}

func readPostmasterPid(dataDir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port, nil
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) == t.max {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	t.buf = nil
	t.mu.Unlock()
}

// lenientWriter ignores the caller's writer errors so that a failing
// Config.Log cannot stop the copy into postgres.log.
type lenientWriter struct{ w io.Writer }

func (l lenientWriter) Write(p []byte) (int, error) {
	_, _ = l.w.Write(p)
	return len(p), nil
}
