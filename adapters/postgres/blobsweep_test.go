package postgres_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
)

// The sweep removes a tenant's old files that no attachment names, and
// nothing else: not a named file however old, not a young one (an upload
// in flight), not another tenant's.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	ab := setupApplications(t)
	lead := domain.WithPrincipal(t.Context(), ab.member(ab.coop.ID))
	system := domain.WithPrincipal(t.Context(), domain.SystemPrincipal(ab.milan))
	now := ab.clock.now()

	// A file written by a crashed upload: Put, and no record.
	orphan := func(tenant uuid.UUID, age time.Duration) string {
		t.Helper()
		info, err := ab.blobs.Put(t.Context(), tenant, domain.NewID(), strings.NewReader("%PDF-1.7 orfano"), 1024)
		if err != nil {
			t.Fatal(err)
		}
		setAge(t, ab, info.Key, now.Add(-age))
		return info.Key
	}
	a, err := ab.apps.Create(lead, ab.milan, ab.c.ID, ab.coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.7\nprogetto\n")
	f, err := ab.apps.Attach(lead, ab.milan, a.ID, "progetto.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	setAge(t, ab, f.Key, now.Add(-30*24*time.Hour))
	old, older := orphan(ab.milan, 25*time.Hour), orphan(ab.milan, 400*24*time.Hour)
	young, almost := orphan(ab.milan, 0), orphan(ab.milan, 23*time.Hour)
	theirs := orphan(ab.tenantA, 48*time.Hour)

	// Only the system of the tenant (or an operator) sweeps.
	for name, p := range map[string]domain.Principal{
		"officer":              ab.officer,
		"another tenant's job": domain.SystemPrincipal(ab.tenantA),
	} {
		if _, err := ab.apps.SweepOrphans(domain.WithPrincipal(t.Context(), p), ab.milan); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("%s sweeps Milano: %v, want forbidden", name, err)
		}
	}
	assertFiles(t, ab, map[string]bool{f.Key: true, old: true, older: true, young: true, almost: true, theirs: true})

	n, err := ab.apps.SweepOrphans(system, ab.milan)
	if err != nil || n != 2 {
		t.Errorf("sweep: removed %d, %v; want 2", n, err)
	}
	assertFiles(t, ab, map[string]bool{f.Key: true, old: false, older: false, young: true, almost: true, theirs: true})
	// The named file still opens through its application.
	if _, rc, err := ab.apps.Open(lead, ab.milan, a.ID, f.ID); err != nil {
		t.Errorf("the attachment after the sweep: %v", err)
	} else {
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, pdf) {
			t.Errorf("the attachment reads %q", b)
		}
	}
	// Again: nothing left to do.
	if n, err := ab.apps.SweepOrphans(system, ab.milan); err != nil || n != 0 {
		t.Errorf("second sweep: removed %d, %v; want 0", n, err)
	}
	// A shorter grace reaches the file of 23 hours, still not the young one.
	ab.apps.SweepGrace = time.Hour
	if n, err := ab.apps.SweepOrphans(system, ab.milan); err != nil || n != 1 {
		t.Errorf("sweep with an hour's grace: removed %d, %v; want 1", n, err)
	}
	assertFiles(t, ab, map[string]bool{f.Key: true, almost: false, young: true, theirs: true})
	// The other tenant's sweep takes its own orphan and nothing of Milano's.
	if n, err := ab.apps.SweepOrphans(domain.WithPrincipal(t.Context(), domain.SystemPrincipal(ab.tenantA)), ab.tenantA); err != nil || n != 1 {
		t.Errorf("the region's sweep: removed %d, %v; want 1", n, err)
	}
	assertFiles(t, ab, map[string]bool{f.Key: true, young: true, theirs: false})

	// Most old files unreferenced (more than a few): the wrong database for
	// these files, and nothing is deleted.
	stray := map[string]bool{f.Key: true}
	for range 11 {
		stray[orphan(ab.milan, 48*time.Hour)] = true
	}
	if n, err := ab.apps.SweepOrphans(system, ab.milan); !errors.Is(err, application.ErrSweepDoubtful) || n != 0 {
		t.Errorf("a sweep of 11 orphans among 12 files: removed %d, %v; want sweep_doubtful", n, err)
	}
	assertFiles(t, ab, stray)
}

// ReferencedKeys answers for the transaction's tenant only.
func TestReferencedKeysIsTenantScoped(t *testing.T) {
	t.Parallel()
	ab := setupApplications(t)
	lead := domain.WithPrincipal(t.Context(), ab.member(ab.coop.ID))
	a, err := ab.apps.Create(lead, ab.milan, ab.c.ID, ab.coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ab.apps.Attach(lead, ab.milan, a.ID, "progetto.pdf", strings.NewReader("%PDF-1.7\n"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{f.Key, ab.milan.String() + "/00/" + uuid.New().String()}
	for tenant, want := range map[uuid.UUID]int{ab.milan: 1, ab.tenantA: 0} {
		var got []string
		err := ab.store.Applications().Atomic(t.Context(), tenant, func(tx application.Tx) error {
			got, err = tx.Applications().ReferencedKeys(t.Context(), keys)
			return err
		})
		if err != nil || len(got) != want || (want == 1 && got[0] != f.Key) {
			t.Errorf("tenant %s: referenced %v, %v; want %d key(s)", tenant, got, err, want)
		}
	}
}

func setAge(t *testing.T, ab *appBundle, key string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(ab.blobDir, filepath.FromSlash(key)), at, at); err != nil {
		t.Fatal(err)
	}
}

// assertFiles checks which of the keys are (true) and are not (false) on disk.
func assertFiles(t *testing.T, ab *appBundle, want map[string]bool) {
	t.Helper()
	for key, there := range want {
		_, err := os.Stat(filepath.Join(ab.blobDir, filepath.FromSlash(key)))
		switch {
		case there && err != nil:
			t.Errorf("%s: gone (%v)", key, err)
		case !there && err == nil:
			t.Errorf("%s: still there", key)
		}
	}
}
