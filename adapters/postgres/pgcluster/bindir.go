package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BinDir finds the directory holding the PostgreSQL server binaries
// (initdb and postgres). It tries, in order: `pg_config --bindir`, the newest
// /usr/lib/postgresql/<major>/bin (Debian/Ubuntu layout, which keeps the
// server binaries off PATH), and an initdb found on PATH.
//
// pg_config's answer is only trusted if initdb and postgres are really there:
// on Debian pg_config may come from libpq-dev without any server installed.
func BinDir() (string, error) {
	var tried []string

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if hasServerBinaries(dir) {
			return dir, nil
		}
		tried = append(tried, "`pg_config --bindir` ("+dir+": no initdb/postgres)")
	} else {
		tried = append(tried, "`pg_config --bindir` (not available)")
	}

	if dir := newestDebianBinDir(); dir != "" {
		return dir, nil
	}
	tried = append(tried, "/usr/lib/postgresql/*/bin")

	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	tried = append(tried, "initdb on $PATH")

	return "", fmt.Errorf("pgcluster: PostgreSQL server binaries (initdb, postgres) not found; tried %s. "+
		"Install them with `apt-get install -y postgresql` (Debian/Ubuntu), or set Config.BinDir",
		strings.Join(tried, ", "))
}

// newestDebianBinDir returns /usr/lib/postgresql/<N>/bin for the highest
// numeric N that holds the server binaries, or "".
func newestDebianBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type cand struct {
		dir string
		ver float64
	}
	var cands []cand
	for _, m := range matches {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(m)), 64)
		if err != nil || !hasServerBinaries(m) {
			continue
		}
		cands = append(cands, cand{m, v})
	}
	if len(cands) == 0 {
		return ""
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ver > cands[j].ver })
	return cands[0].dir
}

func hasServerBinaries(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

func checkBinDir(dir string) error {
	if !hasServerBinaries(dir) {
		return errors.New("pgcluster: Config.BinDir " + dir + " does not contain initdb and postgres")
	}
	return nil
}
