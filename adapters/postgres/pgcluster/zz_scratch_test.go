package pgcluster

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

func TestScratchForeign(t *testing.T) {
	dir := clusterDir(t)
	c, _ := startCluster(t, Config{Dir: dir})
	c.Stop()
	out, err := exec.Command("su", "postgres", "-c", "/usr/lib/postgresql/15/bin/pg_ctl -D "+dir+"/data -o '-p 5999 -k /tmp -c listen_addresses=' -w start").CombinedOutput()
	t.Logf("%s %v", out, err)
	defer func() {
		out, err := exec.Command("su", "postgres", "-c", "/usr/lib/postgresql/15/bin/pg_ctl -D "+dir+"/data -w stop").CombinedOutput()
		t.Logf("%s %v", out, err)
	}()
	_, err = Start(context.Background(), Config{Dir: dir})
	t.Logf("Start: %v", err)
	_, err = Start(context.Background(), Config{Dir: dir, BinDir: "/nonexistent"})
	t.Logf("Start: %v", err)
	os.Setenv("PATH", "/usr/bin")
	_ = err
}
