package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/blobfs"
	"github.com/coprod/coprod/adapters/jobs"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/organisation"
)

// The daily sweep job queues one sweep per active tenant, and each removes
// that tenant's old unreferenced files: the attachment's file, a young
// orphan and the orphan of a tenant not active stay.
func TestBlobSweepJob(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	dir := t.TempDir()
	b := setupJobs(t, box.addr, "COPROD_BLOB_DIR", dir)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	u, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	me := domain.Principal{Subject: "chiara", UserID: u.ID}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), me),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	me.TenantID, me.Orgs = b.milan, map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}
	lead := domain.WithPrincipal(t.Context(), me)
	a, err := b.svc.apps.Create(lead, b.milan, b.c.ID, coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.svc.apps.Attach(lead, b.milan, a.ID, "progetto.pdf", strings.NewReader("%PDF-1.7\nprogetto\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Files of crashed uploads, written straight to the same folder.
	store, err := blobfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	path := func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
	put := func(tenant uuid.UUID, age time.Duration) string {
		t.Helper()
		info, err := store.Put(t.Context(), tenant, domain.NewID(), strings.NewReader("%PDF-1.7 orfano"), 1024)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(path(info.Key), at, at); err != nil {
			t.Fatal(err)
		}
		return info.Key
	}
	var region uuid.UUID // created, never activated
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM tenants WHERE slug = 'regione-lombardia'`).Scan(&region); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path(f.Key), time.Now().Add(-72*time.Hour), time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	orphan, young, inactive := put(b.milan, 48*time.Hour), put(b.milan, time.Minute), put(region, 48*time.Hour)

	if _, err := b.svc.runner.Client().Insert(t.Context(), jobs.SweepBlobsAllArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the sweep of Milano completes", func() bool {
		var n int
		err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'sweep_blobs' AND state = 'completed'`).Scan(&n)
		return err == nil && n == 1
	})
	if _, err := os.Stat(path(orphan)); err == nil {
		t.Errorf("the old orphan of Milano is still there")
	}
	for what, key := range map[string]string{"the attachment's file": f.Key, "the young orphan": young, "the orphan of a tenant not active": inactive} {
		if _, err := os.Stat(path(key)); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if n := b.jobs(t, "sweep_blobs"); n != 1 {
		t.Errorf("%d sweep_blobs jobs, want 1 (Milano is the only active tenant)", n)
	}
	// A working process schedules the daily sweep.
	if !b.svc.runner.Client().PeriodicJobs().RemoveByID(jobs.SweepBlobsAllArgs{}.Kind()) {
		t.Error("no periodic sweep_blobs_all job")
	}
}
