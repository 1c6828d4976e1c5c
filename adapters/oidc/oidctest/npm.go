package oidctest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

const (
	modulePath = "github.com/coprod/coprod"
	// serverRel is the provider's folder, relative to the module root.
	serverRel = "testdata/oidc-provider"
	// stampName, inside node_modules, holds the SHA-256 of the
	// package-lock.json that node_modules was installed from.
	stampName = ".oidctest-lock-sha256"
	// npmTimeout bounds `npm ci`.
	npmTimeout = 5 * time.Minute
)

var (
	npmOnce      sync.Once
	npmInstalled bool
	npmErr       error
)

// serverDir finds testdata/oidc-provider: it walks up to this module's go.mod
// from the working directory (a test runs in its package's folder), then
// from this source file.
func serverDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(b) {
				server := filepath.Join(dir, filepath.FromSlash(serverRel))
				if _, err := os.Stat(filepath.Join(server, "server.js")); err != nil {
					return "", fmt.Errorf("module root %s has no %s/server.js: %w", dir, serverRel, err)
				}
				return server, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("cannot find the %s module root (go.mod) above %v", modulePath, starts)
}

func declaresModule(gomod []byte) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
			return true
		}
	}
	return false
}

// ensureNodeModules runs `npm ci` in dir once per process, unless
// node_modules was already installed from the current package-lock.json.
// A file lock keeps test processes of other packages from installing at the
// same time. It reports whether it ran npm ci.
func ensureNodeModules(dir string) (bool, error) {
	npmOnce.Do(func() { npmInstalled, npmErr = installNodeModules(dir) })
	return npmInstalled, npmErr
}

func installNodeModules(dir string) (bool, error) {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("read package-lock.json: %w", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", stampName)
	upToDate := func() bool {
		got, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(got)) != want {
			return false
		}
		_, err = os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
		return err == nil
	}
	if upToDate() {
		return false, nil
	}

	dirSum := sha256.Sum256([]byte(dir))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "coprod-oidctest-npm-"+hex.EncodeToString(dirSum[:8])+".lock"))
	if err != nil {
		return false, fmt.Errorf("lock for npm ci: %w", err)
	}
	defer unlock()
	if upToDate() { // another test process installed it meanwhile
		return false, nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s", npmTimeout)
		}
		return false, fmt.Errorf("`npm ci` in %s failed (%v); it needs the npm registry. Output:\n%s", dir, err, out.String())
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return true, err
	}
	return true, nil
}
