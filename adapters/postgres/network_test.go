package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/network"
)

// networkSeed writes real rows as the superuser: two regions with
// activity. Lombardia: Bergamo (A and B apply together in 2024, sign in
// 2025 and run a pilot; C only drafts), Brescia (A applies in 2025, signs
// with C in 2026), Como (nothing). Piemonte: Torino (B and C sign in 2025).
type networkSeed struct {
	ids map[string]uuid.UUID
}

func seedNetwork(t *testing.T, db *postgrestest.DB) *networkSeed {
	t.Helper()
	conn := superConn(t, db)
	s := &networkSeed{ids: map[string]uuid.UUID{}}
	for _, n := range []string{"lombardia", "piemonte", "bergamo", "brescia", "como", "torino", "A", "B", "C"} {
		s.ids[n] = uuid.New()
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range []struct{ name, istat string }{{"lombardia", "03"}, {"piemonte", "01"}} {
		exec(`INSERT INTO tenants (id, slug, name, kind, istat_code, status, created_at, updated_at)
			VALUES ($1, 'regione-' || $2, initcap($2), 'region', $3, 'active', now(), now())`, s.ids[r.name], r.name, r.istat)
	}
	for i, m := range []struct{ name, region string }{{"bergamo", "lombardia"}, {"brescia", "lombardia"}, {"como", "lombardia"}, {"torino", "piemonte"}} {
		exec(`INSERT INTO tenants (id, slug, name, kind, istat_code, region_id, status, created_at, updated_at)
			VALUES ($1, $2, initcap($2), 'municipality', $3, $4, 'active', now(), now())`, s.ids[m.name], m.name, fmt.Sprintf("0000%02d", i+1), s.ids[m.region])
	}
	for i, o := range []string{"A", "B", "C"} {
		exec(`INSERT INTO organisations (id, fiscal_code, legal_name, legal_form, created_at, updated_at)
			VALUES ($1, $2, 'Cooperativa ' || $3, 'social_cooperative', now(), now())`, s.ids[o], fmt.Sprintf("%011d", i+1), o)
	}
	year := func(y int) time.Time { return time.Date(y, 5, 10, 9, 0, 0, 0, time.UTC) }
	application := func(m string, at time.Time, status string, orgs ...string) {
		t.Helper()
		callID := uuid.New()
		exec(`INSERT INTO calls (tenant_id, id, title, min_publication_days, status, publication_at, submission_deadline, created_by, created_at, updated_at)
			VALUES ($1, $2, 'Avviso', 20, 'closed', $3, $3, 'rup', $3, $3)`, s.ids[m], callID, at)
		var ids []uuid.UUID
		for _, o := range orgs {
			ids = append(ids, s.ids[o])
		}
		var submitted any
		if status != "draft" {
			submitted = at
		}
		exec(`INSERT INTO applications (tenant_id, id, call_id, lead_org_id, partner_ids, org_ids, status, submitted_at, receipt_sha256, created_by, created_at, updated_at)
			VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'draft' THEN NULL ELSE 'x' END, 'u', $8, $8)`,
			s.ids[m], callID, ids[0], ids[1:], ids, status, submitted, at)
	}
	agreement := func(m string, at time.Time, status string, orgs ...string) uuid.UUID {
		t.Helper()
		id := uuid.New()
		var ids []uuid.UUID
		for _, o := range orgs {
			ids = append(ids, s.ids[o])
		}
		var signed any
		if status != "draft" {
			signed = at
		}
		exec(`INSERT INTO agreements (tenant_id, id, title, parties, org_ids, starts_on, ends_on, budget, payment_mode, officer_signed_at, status, created_at, updated_at)
			VALUES ($1, $2, 'Convenzione', '[]', $3, $4::timestamptz, $4::timestamptz + interval '2 years', '{}', 'cost_reimbursement', $5, $6, $4, $4)`,
			s.ids[m], id, ids, at, signed, status)
		return id
	}
	application("bergamo", year(2024), "submitted", "A", "B")
	application("bergamo", year(2024), "draft", "C")
	bg := agreement("bergamo", year(2025), "active", "A", "B")
	agreement("bergamo", year(2025), "draft", "C")
	exec(`INSERT INTO pilots (tenant_id, id, agreement_id, title, hypothesis, cohort_size, starts_on, ends_on, status, created_at, updated_at)
		VALUES ($1, gen_random_uuid(), $2, 'Pilota', 'h', 20, $3::timestamptz, $3::timestamptz + interval '6 months', 'running', $3, $3)`, s.ids["bergamo"], bg, year(2025))
	application("brescia", year(2025), "submitted", "A")
	agreement("brescia", year(2026), "signed", "A", "C")
	agreement("torino", year(2025), "active", "B", "C")
	return s
}

func TestNetworkOfARegion(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	s := seedNetwork(t, db)
	store := postgres.NewStore(db.App)
	svc := network.NewService(store.Network(), nil)
	as := func(tenant uuid.UUID, roles ...domain.Role) context.Context {
		return domain.WithPrincipal(t.Context(), domain.Principal{Subject: "u", TenantID: tenant, Roles: roles})
	}
	for _, m := range []string{"bergamo", "brescia", "como", "torino"} {
		if err := svc.Refresh(as(s.ids[m], domain.RoleSystem), s.ids[m]); err != nil {
			t.Fatalf("refresh %s: %v", m, err)
		}
	}
	// Only the tenant's own system (or an operator) refreshes it.
	if err := svc.Refresh(as(s.ids["torino"], domain.RoleSystem), s.ids["bergamo"]); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("Torino's job refreshes Bergamo: %v", err)
	}

	name := map[uuid.UUID]string{}
	for k, v := range s.ids {
		name[v] = k
	}
	analyst := as(s.ids["lombardia"], domain.RoleRegionalAnalyst)
	g, err := svc.Region(analyst, s.ids["lombardia"], network.Years{})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, n := range g.Nodes {
		nodes = append(nodes, name[n.ID]+"="+n.Name)
	}
	if want := "[bergamo=Bergamo brescia=Brescia como=Como A=Cooperativa A B=Cooperativa B C=Cooperativa C]"; fmt.Sprint(nodes) != want {
		t.Errorf("nodes %v, want %s", nodes, want)
	}
	edges := map[string]network.Edge{}
	for _, e := range g.Edges {
		a, b := name[e.Source], name[e.Target]
		if e.Kind == network.EdgeAlliance && a > b {
			a, b = b, a
		}
		edges[a+"-"+b] = e
	}
	want := map[string]network.Counts{
		"A-bergamo": {Applications: 1, Agreements: 1, Pilots: 1}, "B-bergamo": {Applications: 1, Agreements: 1, Pilots: 1},
		"A-brescia": {Applications: 1, Agreements: 1}, "C-brescia": {Agreements: 1},
		"A-B": {Applications: 1, Agreements: 1, Pilots: 1}, "A-C": {Agreements: 1},
	}
	if len(edges) != len(want) {
		t.Errorf("edges %v", edges)
	}
	for k, w := range want {
		if edges[k].Counts != w {
			t.Errorf("edge %s: %+v, want %+v", k, edges[k], w)
		}
	}
	if e := edges["A-bergamo"]; e.FirstYear != 2024 || len(e.Years) != 2 || e.Years[1].Year != 2025 {
		t.Errorf("A–Bergamo years: %+v", e)
	}
	m := g.Metrics
	if len(m.SeveralMunicipalities) != 1 || name[m.SeveralMunicipalities[0].Organisation] != "A" || m.SeveralMunicipalities[0].Name != "Cooperativa A" ||
		m.SeveralMunicipalities[0].Municipalities != 2 {
		t.Errorf("several municipalities: %+v", m.SeveralMunicipalities)
	}
	if len(m.WithoutPartnership) != 1 || m.WithoutPartnership[0].Slug != "como" {
		t.Errorf("without partnership: %+v", m.WithoutPartnership)
	}
	if fmt.Sprint(m.NewAlliances) != "[{2024 2 1} {2025 1 0} {2026 1 1}]" {
		t.Errorf("new alliances per year: %v", m.NewAlliances)
	}
	if g.ComputedAt.IsZero() {
		t.Errorf("no computation time")
	}

	// Piemonte's graph has Torino only; its analyst may not read Lombardia's.
	pg, err := svc.Region(as(s.ids["piemonte"], domain.RoleRegionalAnalyst), s.ids["piemonte"], network.Years{})
	if err != nil || len(pg.Edges) != 3 || len(pg.Nodes) != 3 || pg.Nodes[0].ID != s.ids["torino"] {
		t.Errorf("Piemonte: %+v %v", pg, err)
	}
	for who, ctx := range map[string]context.Context{"Piemonte's analyst": as(s.ids["piemonte"], domain.RoleRegionalAnalyst),
		"Bergamo's officer": as(s.ids["bergamo"], domain.RoleOfficer), "Lombardia's officer": as(s.ids["lombardia"], domain.RoleOfficer)} {
		if _, err := svc.Region(ctx, s.ids["lombardia"], network.Years{}); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("Lombardia's network read by %s: %v", who, err)
		}
	}
	op := as(uuid.Nil, domain.RolePlatformOperator)
	if _, err := svc.Region(op, s.ids["bergamo"], network.Years{}); !errors.Is(err, network.ErrNotARegion) {
		t.Errorf("a municipality's network: %v", err)
	}

	// The public network: signed agreements only.
	pub, err := svc.Public(t.Context(), s.ids["lombardia"], network.Years{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pub.Edges {
		if e.Applications != 0 || e.Pilots != 0 || e.Agreements != 1 {
			t.Errorf("public edge %+v", e)
		}
	}
	if len(pub.Edges) != 6 || fmt.Sprint(pub.Metrics.NewAlliances) != "[{2025 2 1} {2026 2 1}]" {
		t.Errorf("public graph: %+v", pub)
	}
	if _, err := svc.Public(t.Context(), s.ids["lombardia"], network.Years{From: 2026, To: 2025}); !errors.Is(err, network.ErrInvalidYears) {
		t.Errorf("years backwards: %v", err)
	}

	// Row-level security is the backstop: another region's scope reads
	// nothing of Lombardia's, a municipality only its own rows.
	count := func(tenant uuid.UUID, q string) int {
		var n int
		err := pgx.BeginFunc(t.Context(), db.App, func(tx pgx.Tx) error {
			if _, err := tx.Exec(t.Context(), `SELECT set_config('app.tenant_id', $1, true)`, tenant.String()); err != nil {
				return err
			}
			return tx.QueryRow(t.Context(), q).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lomb := fmt.Sprintf(`'%s', '%s', '%s'`, s.ids["bergamo"], s.ids["brescia"], s.ids["como"])
	if n := count(s.ids["piemonte"], `SELECT count(*) FROM network_ties WHERE tenant_id IN (`+lomb+`)`); n != 0 {
		t.Errorf("Piemonte reads %d of Lombardia's ties", n)
	}
	if n := count(s.ids["piemonte"], `SELECT count(*) FROM network_alliances WHERE tenant_id IN (`+lomb+`)`); n != 0 {
		t.Errorf("Piemonte reads %d of Lombardia's alliances", n)
	}
	if n := count(s.ids["bergamo"], `SELECT count(DISTINCT tenant_id) FROM network_ties`); n != 1 {
		t.Errorf("Bergamo reads the ties of %d municipalities", n)
	}
	if n := count(s.ids["lombardia"], `SELECT count(*) FROM applications`); n != 0 {
		t.Errorf("the region reads %d applications", n)
	}

	// A refresh replaces: the withdrawn application leaves the network.
	if _, err := superConn(t, db).Exec(t.Context(), `UPDATE applications SET status = 'withdrawn' WHERE tenant_id = $1`, s.ids["brescia"]); err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(op, s.ids["brescia"]); err != nil {
		t.Fatal(err)
	}
	g, err = svc.Region(analyst, s.ids["lombardia"], network.Years{From: 2025})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Edges {
		if e.Source == s.ids["A"] && e.Target == s.ids["brescia"] && (e.Counts != network.Counts{Agreements: 1} || e.FirstYear != 2026) {
			t.Errorf("A–Brescia after the withdrawal: %+v", e)
		}
	}
}
