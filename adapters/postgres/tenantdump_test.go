package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/blobfs"
	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/adapters/postgres/tenantdump"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/codesign"
	"github.com/coprod/coprod/domain/committee"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/notify"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/pilot"
	"github.com/coprod/coprod/domain/reminder"
	"github.com/coprod/coprod/domain/report"
	"github.com/coprod/coprod/tenants"
)

// probeTable is a tenant table this test adds to the schema, with the types
// that are hard to carry as text: it proves the export is driven by the
// catalog (no code knows this table) and that values come back exactly.
const probeTable = `
CREATE TYPE probe_mood AS ENUM ('low', 'high');
CREATE TABLE export_probes (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        bigint GENERATED ALWAYS AS IDENTITY,
    amount    numeric(20, 6),
    ratio     double precision,
    raw       bytea,
    at        timestamptz,
    local_at  timestamp,
    day       date,
    stamps    timestamptz[],
    doc       jsonb,
    mood      probe_mood,
    span      interval,
    tags      text[],
    note      text,
    shout     text GENERATED ALWAYS AS (upper(note)) STORED,
    user_id   uuid REFERENCES users (id),
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE export_probes ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_probes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON export_probes
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT ON export_probes TO coprod_app;
GRANT USAGE, UPDATE ON SEQUENCE export_probes_id_seq TO coprod_app;`

const probeUser = `INSERT INTO users (id, issuer, subject, email, name, created_at)
    VALUES ('0190a000-0000-7000-8000-00000000abcd', 'https://probe.example', 'probe', 'probe@example.it', 'Probe', '2026-01-01T00:00:00.000001Z')`

const probeRows = `
INSERT INTO export_probes (tenant_id, amount, ratio, raw, at, local_at, day, stamps, doc, mood, span, tags, note, user_id) VALUES
    ($1, 12345678901234.123456, 0.1, '\x00ff10', '2026-03-29 01:30:00.123456+01', '2026-03-29 02:30:00.5', '2026-02-28',
     ARRAY['2026-01-01 00:00:00+00', NULL]::timestamptz[], '{"b": 1, "a": [1.50, "è\"\\"], "z": null}', 'high',
     '1 year 2 mons 3 days 04:05:06.789', ARRAY['a,b', 'quo"te', NULL, ''], E'città\nnuova\t"x"', '0190a000-0000-7000-8000-00000000abcd'),
    ($1, -0.000001, 1e-300, '', 'infinity', '-infinity', '0001-01-01 BC', '{}', '[]', 'low', '-1 days', '{}', '', NULL),
    ($1, NULL, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`

type mailSink struct{}

func (mailSink) Send(context.Context, notify.Message) error { return nil }

type dumpBundle struct {
	db                       *postgrestest.DB
	store                    *postgres.Store
	region, milan, bergamo   uuid.UUID
	superConn                *pgx.Conn
	requiredOwned, platforms []string
}

// setupDump builds a database with the probe table, then gives Milano a
// history through the real use cases: provider, invitation and grants,
// a call with questions, applications with an attachment, a committee and
// its ranking, a co-design table, an agreement with deliverables, a pilot,
// indicators, verified measurements and payments, reminders, notices
// delivered by e-mail and in-app, a snapshot. Bergamo, another
// municipality, gets a call of its own, which must never leave with Milano.
func setupDump(t *testing.T, withProbe bool) *dumpBundle {
	t.Helper()
	db := postgrestest.New(t)
	b := &dumpBundle{db: db, superConn: superConn(t, db)}
	ctx := t.Context()
	if withProbe {
		if _, err := b.superConn.Exec(ctx, probeTable); err != nil {
			t.Fatal(err)
		}
	}
	b.store = postgres.NewStore(db.App)
	store := b.store
	b.region, b.milan = twoTenants(t, store)
	op := operatorCtx(t)
	reg := tenants.NewService(store.Registry(), nil)
	bg, err := reg.Create(op, tenants.CreateInput{Slug: "bergamo", Name: "Bergamo", Kind: tenants.KindMunicipality, ISTATCode: "016024", Region: "regione-lombardia"})
	if err != nil {
		t.Fatal(err)
	}
	b.bergamo = bg.ID
	if withProbe {
		if _, err := b.superConn.Exec(ctx, probeUser); err != nil {
			t.Fatal(err)
		}
		if _, err := b.superConn.Exec(ctx, probeRows, b.milan); err != nil {
			t.Fatal(err)
		}
	}
	milan := b.milan
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	sealer, _ := postgres.NewSealer(make([]byte, 32))
	ids := identity.NewService(store.Identity(sealer), fixedDiscoverer{"https://idp.milano.example": "https://idp.milano.example"}, clk.now, identity.Config{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = ids.SaveProvider(op, milan, identity.Provider{Issuer: "https://idp.milano.example", ClientID: "coprod", ClientSecret: "top-secret",
		Audience: "coprod-milano", Claims: identity.ClaimMapping{GroupRoles: map[string][]domain.Role{"officers": {domain.RoleOfficer}}}}, 0)
	must(err)
	_, err = ids.Invite(op, milan, "anna@comune.milano.it", domain.RoleTenantAdmin)
	must(err)
	must(ids.Grant(op, milan, "https://idp.milano.example", "rup", domain.RoleOfficer))
	chiara, err := ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example", Name: "Chiara"})
	must(err)

	calls := call.NewService(store.Calls(), clk.now)
	blobs, err := blobfs.New(t.TempDir())
	must(err)
	apps := application.NewService(store.Applications(), blobs, clk.now)
	comm := committee.NewService(store.Committee(), clk.now)
	orgs := organisation.NewService(store.Organisations(), nil)
	officer := domain.WithPrincipal(ctx, domain.Principal{Subject: "rup", TenantID: milan, Roles: []domain.Role{domain.RoleOfficer}})

	// Bergamo's own call: another tenant's rows in the same database.
	_, err = calls.CreateDraft(domain.WithPrincipal(ctx, domain.Principal{Subject: "rup-bg", TenantID: b.bergamo, Roles: []domain.Role{domain.RoleOfficer}}), b.bergamo, newCall())
	must(err)

	in := newCall()
	in.PassThresholdBP = 6000
	c, err := calls.CreateDraft(officer, milan, in)
	must(err)
	c, err = calls.Publish(officer, milan, c.ID, testAct("call"), c.Version)
	must(err)
	var orgIDs []uuid.UUID
	var members []context.Context
	var appIDs []uuid.UUID
	for i, fc := range []string{"04123456784", "05234567898", "06345678905"} {
		who := op
		if i == 0 { // Chiara registers Alfa, so she hears of its notices
			who = domain.WithPrincipal(ctx, domain.Principal{Subject: "chiara", UserID: chiara.ID})
		}
		o, err := orgs.Register(who, organisation.Organisation{FiscalCode: fc, LegalName: []string{"Alfa", "Beta", "Gamma"}[i], LegalForm: "association"})
		must(err)
		orgIDs = append(orgIDs, o.ID)
		m := domain.WithPrincipal(ctx, domain.Principal{Subject: "m" + fc, UserID: uuid.New(), TenantID: milan, Orgs: map[uuid.UUID][]domain.Role{o.ID: {domain.RoleOrgAdmin}}})
		members = append(members, m)
		if i == 0 {
			q, err := calls.Ask(m, milan, c.ID, o.ID, "Sono ammessi i partner informali?")
			must(err)
			_, err = calls.Answer(officer, milan, q.ID, "Sì, come sostenitori.", true)
			must(err)
		}
		a, err := apps.Create(m, milan, c.ID, o.ID)
		must(err)
		content := completeContent(uuid.Nil, o.ID)
		content.Partners = nil
		a, err = apps.Update(m, milan, a.ID, content, a.Version)
		must(err)
		_, err = apps.Attach(m, milan, a.ID, "progetto.pdf", bytes.NewReader([]byte("%PDF-1.7\n1 0 obj\n")))
		must(err)
		clk.add(time.Minute)
		_, err = apps.Submit(m, milan, a.ID, "key-"+fc, 0)
		must(err)
		appIDs = append(appIDs, a.ID)
	}
	clk.t = c.SubmissionDeadline.Add(time.Second)
	_, err = calls.Close(officer, milan, c.ID)
	must(err)
	for _, id := range appIDs {
		_, err := apps.Decide(officer, milan, id, "admissible", nil, time.Time{}, 0)
		must(err)
	}
	c, err = calls.Get(officer, milan, c.ID)
	must(err)
	c, err = calls.StartEvaluation(officer, milan, c.ID, testAct("committee"), c.Version)
	must(err)
	eva, err := ids.Provision(op, identity.Identity{Issuer: "https://idp.milano.example", Subject: "eva"})
	must(err)
	_, err = comm.Appoint(officer, milan, c.ID, eva.ID, "member", nil)
	must(err)
	evaCtx := domain.WithPrincipal(ctx, domain.Principal{Subject: eva.ID.String(), UserID: eva.ID, TenantID: milan, Roles: []domain.Role{domain.RoleEvaluator}})
	for i, app := range appIDs {
		_, err := comm.Declare(evaCtx, milan, app, evaluation.NoConflict)
		must(err)
		_, err = comm.Score(evaCtx, milan, app, []evaluation.Score{{Criterion: "quality", Value: 9 - 2*i, Rationale: "buona"}, {Criterion: "network", Value: 8, Rationale: "ampia"}}, true)
		must(err)
	}
	ra := testAct("ranking")
	_, err = comm.Ranking(officer, milan, c.ID, true, &ra, 0)
	must(err)
	cd := codesign.NewService(store.Codesign(), clk.now)
	_, err = cd.Convene(officer, milan, c.ID)
	must(err)
	_, err = cd.RecordSession(officer, milan, c.ID, codesign.Session{Date: clk.now(), Minutes: "Prima sessione", Decisions: []string{"Due sedi"},
		Attendees: []codesign.Attendee{{Name: "Marco", Role: "RUP"}}})
	must(err)
	_, err = cd.AddVersion(officer, milan, c.ID, "Progetto v1")
	must(err)

	// An agreement with the first organisation, a deliverable, a pilot, an
	// indicator with a payment rule and a verified measurement.
	ags := agreement.NewService(store.Agreements(), clk.now)
	start := clk.now().AddDate(-1, 0, 0).Truncate(24 * time.Hour)
	ag, err := ags.Create(officer, milan, agreement.Agreement{Title: "Convenzione anziani soli", CallID: c.ID, Objectives: []string{"Ridurre l'isolamento"},
		Obligations: []string{"Rendicontare"}, Parties: []agreement.Party{{OrganisationID: orgIDs[0], Role: "lead", BudgetShareCents: 30_000_000}},
		Start: start, End: start.AddDate(2, 0, 0), PaymentMode: "mixed",
		Budget:   agreement.Budget{PublicCents: 40_000_000, OutcomeCents: 10_000_000},
		Schedule: []agreement.Instalment{{Label: "anticipo", Percent: 30}, {Label: "saldo", Percent: 70}}})
	must(err)
	_, err = ags.Sign(officer, milan, ag.ID, uuid.Nil, 0)
	must(err)
	_, err = ags.Sign(members[0], milan, ag.ID, orgIDs[0], 0)
	must(err)
	_, err = ags.Transition(officer, milan, ag.ID, "activate", "", 0)
	must(err)
	_, err = ags.AddDeliverable(officer, milan, ag.ID, "Relazione", clk.now().Add(3*24*time.Hour))
	must(err)
	pls := pilot.NewService(store.Pilots(), clk.now)
	_, err = pls.Create(officer, milan, ag.ID, pilot.Pilot{Title: "Custodi di quartiere", Hypothesis: "Un custode riduce gli accessi al PS",
		SiteISTAT: "015146", CohortSize: 120, Start: start, End: start.AddDate(0, 9, 0)})
	must(err)
	mon := monitoring.NewService(store.Monitoring(), clk.now)
	_, err = mon.SeedLibrary(officer, milan)
	must(err)
	period := fmt.Sprint(start.Year())
	as, err := mon.Assign(officer, milan, ag.ID, uuid.Nil, impact.Assignment{Indicator: "volunteers_engaged", Weight: 100, Frequency: "annual",
		Baseline: impact.Baseline{Value: 10_000, Date: start.AddDate(0, 0, -1), Source: "registro"},
		Targets:  []impact.Target{{Period: period, Value: 20_000}}})
	must(err)
	_, err = mon.AddRule(officer, milan, as.ID, payment.Rule{Trigger: payment.PerUnit, Direction: payment.Increase, BaselineMilli: 10_000,
		UnitPriceCents: 5_000, CapCents: 200_000})
	must(err)
	m, err := mon.Submit(members[0], milan, as.ID, monitoring.SubmitInput{Period: period, Value: 15_000, Evidence: "registro volontari",
		People: []impact.PeopleCount{{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12}}})
	must(err)
	_, _, err = mon.Decide(officer, milan, m.ID, "verified", "", m.Version)
	must(err)

	// Reminders, notices delivered to the organisations, a snapshot.
	rem := reminder.NewService(store.Reminders(), clk.now)
	_, err = rem.PutSettings(domain.WithPrincipal(ctx, domain.Principal{Subject: "admin", TenantID: milan, Roles: []domain.Role{domain.RoleTenantAdmin}}),
		milan, reminder.Settings{DaysBefore: []int{7, 1}, EscalationDays: 7, Locale: "en"})
	must(err)
	_, err = rem.Plan(ctx, milan)
	must(err)
	rows, err := b.superConn.Query(ctx, `SELECT id FROM organisation_notices WHERE tenant_id = $1`, milan)
	must(err)
	notices, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	must(err)
	nt := notify.NewService(store.Notify(), mailSink{}, clk.now, "https://coprod.example")
	for _, id := range notices {
		_, err := nt.DeliverNotice(ctx, id)
		must(err)
	}
	_, err = report.NewService(store.Reports(), clk.now).Take(ctx, milan)
	must(err)

	b.requiredOwned = []string{"tenants", "audit_events", "identity_providers", "tenant_memberships", "invitations", "user_tenants",
		"calls", "call_questions", "public_calls", "applications", "application_attachments", "idempotency_keys", "committee_members",
		"evaluation_sheets", "ranking_entries", "organisation_notices", "agreements", "deliverables", "pilots", "indicator_definitions",
		"indicator_assignments", "measurements", "payment_rules", "outcome_payments", "codesign_tables", "codesign_sessions",
		"project_versions", "tenant_settings", "reminders", "user_notifications", "report_snapshots"}
	b.platforms = []string{"users", "organisations"}
	if withProbe {
		b.requiredOwned = append(b.requiredOwned, "export_probes")
	}
	return b
}

// catalogOwned lists, from information_schema and independently of the
// exporter, the tables holding one tenant's rows.
func catalogOwned(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT c.table_name::text FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return append(out, "tenants")
}

// tenantState is every row of the tenant, as PostgreSQL prints the whole
// row (generated columns included), per table; read as a superuser.
func tenantState(t *testing.T, conn *pgx.Conn, tenant uuid.UUID) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tbl := range catalogOwned(t, conn) {
		col := "tenant_id"
		if tbl == "tenants" {
			col = "id"
		}
		rows, err := conn.Query(t.Context(), `SELECT x::text FROM `+pgx.Identifier{tbl}.Sanitize()+` x WHERE `+col+` = $1 ORDER BY 1`, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if out[tbl], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dropTenant deletes every row of the tenant, children first, as a
// superuser (the service may not delete audit records), and the login
// state that points at it.
func dropTenant(t *testing.T, conn *pgx.Conn, tenant uuid.UUID) {
	t.Helper()
	ctx := t.Context()
	order, err := tenantdump.OwnedTables(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for _, q := range []string{`DELETE FROM sessions WHERE realm_tenant_id = $1`, `DELETE FROM login_attempts WHERE realm_tenant_id = $1`} {
		if _, err := tx.Exec(ctx, q, tenant); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(order)
	for _, tbl := range order {
		col := "tenant_id"
		if tbl == "tenants" {
			col = "id"
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{tbl}.Sanitize()+` WHERE `+col+` = $1`, tenant); err != nil {
			t.Fatalf("drop %s: %v", tbl, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

type exportLine struct {
	Table string             `json:"table"`
	Row   map[string]*string `json:"row"`
}

func exportOf(t *testing.T, db tenantdump.Beginner, ref string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := tenantdump.Export(t.Context(), db, ref, &buf, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("export %s: %v", ref, err)
	}
	return buf.Bytes()
}

func linesOf(t *testing.T, file []byte) []exportLine {
	t.Helper()
	var out []exportLine
	lines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	for _, l := range lines[1 : len(lines)-1] {
		var el exportLine
		if err := json.Unmarshal([]byte(l), &el); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, el)
	}
	return out
}

func TestTenantExportRoundTrip(t *testing.T) {
	t.Parallel()
	b := setupDump(t, true)
	ctx := t.Context()
	before := tenantState(t, b.superConn, b.milan)
	for _, tbl := range b.requiredOwned {
		if len(before[tbl]) == 0 {
			t.Errorf("the seeded history left %s empty: the round trip would not cover it", tbl)
		}
	}

	// The exporter sees exactly the catalog's tenant tables.
	owned, err := tenantdump.OwnedTables(ctx, b.db.App)
	if err != nil {
		t.Fatal(err)
	}
	if want := catalogOwned(t, b.superConn); !equalSets(owned, want) {
		t.Errorf("exported tables %v, catalog has %v", owned, want)
	}

	file := exportOf(t, b.db.App, "milano")
	lines := linesOf(t, file)
	perTable := map[string]int{}
	pos := map[string]int{}
	for i, l := range lines {
		switch {
		case l.Table == "tenants":
			if *l.Row["id"] == b.milan.String() {
				perTable["tenants"]++
			} else if *l.Row["id"] != b.region.String() {
				t.Errorf("a registry row other than Milano and its region: %s", *l.Row["slug"])
			}
		case l.Row["tenant_id"] != nil:
			if *l.Row["tenant_id"] != b.milan.String() {
				t.Errorf("line %d: a %s row of tenant %s", i+2, l.Table, *l.Row["tenant_id"])
			}
			perTable[l.Table]++
		case !slices.Contains(b.platforms, l.Table):
			t.Errorf("line %d: unexpected platform table %s", i+2, l.Table)
		}
		if _, ok := pos[l.Table]; !ok {
			pos[l.Table] = i
		}
	}
	// Every row of every tenant table is in the file, none of Bergamo's.
	for tbl, rows := range before {
		if perTable[tbl] != len(rows) {
			t.Errorf("%s: %d rows in the database, %d exported", tbl, len(rows), perTable[tbl])
		}
	}
	if bytes.Contains(file, []byte(b.bergamo.String())) {
		t.Error("the export mentions Bergamo")
	}
	// Dependency order: referenced tables first.
	for _, pair := range [][2]string{{"tenants", "calls"}, {"users", "tenant_memberships"}, {"organisations", "applications"},
		{"calls", "applications"}, {"applications", "application_attachments"}, {"agreements", "pilots"}, {"indicator_assignments", "measurements"}} {
		if pos[pair[0]] >= pos[pair[1]] {
			t.Errorf("%s comes after %s", pair[0], pair[1])
		}
	}
	// The probe's values, in PostgreSQL's own text form.
	probe := linesOfTable(lines, "export_probes")
	if len(probe) != 3 || *probe[0]["raw"] != `\x00ff10` || *probe[0]["at"] != "2026-03-29 00:30:00.123456+00" ||
		*probe[0]["amount"] != "12345678901234.123456" || *probe[1]["ratio"] != "1e-300" || probe[2]["raw"] != nil || *probe[0]["id"] != "1" {
		t.Errorf("probe rows: %v", probe)
	}
	if _, ok := probe[0]["shout"]; ok {
		t.Error("a generated column was exported")
	}

	// Drop Milano, import the file: every row is back, byte for byte, and
	// exporting again gives the same file.
	dropTenant(t, b.superConn, b.milan)
	if got := tenantState(t, b.superConn, b.milan); !emptyState(got) {
		t.Fatalf("drop left rows: %v", got)
	}
	sum, err := tenantdump.Import(ctx, b.db.App, bytes.NewReader(file), tenantdump.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != len(lines) || sum.Skipped != len(lines)-countOwned(before) || len(sum.Warnings) != 0 {
		t.Errorf("import summary: %d rows, %d skipped (platform rows already here), warnings %v; file has %d lines, %d tenant rows",
			sum.Rows, sum.Skipped, sum.Warnings, len(lines), countOwned(before))
	}
	after := tenantState(t, b.superConn, b.milan)
	compareStates(t, before, after)
	if again := exportOf(t, b.db.App, b.milan.String()); !bytes.Equal(again, file) {
		t.Errorf("second export differs from the first:\n%s", firstDiff(file, again))
	}
	// The identity sequence moved past the imported ids.
	if _, err := b.superConn.Exec(ctx, `INSERT INTO export_probes (tenant_id, note) VALUES ($1, 'new')`, b.milan); err != nil {
		t.Errorf("a new probe row after the import: %v", err)
	}

	// The use cases work on the imported tenant.
	calls := call.NewService(b.store.Calls(), nil)
	officer := domain.WithPrincipal(ctx, domain.Principal{Subject: "rup", TenantID: b.milan, Roles: []domain.Role{domain.RoleOfficer}})
	if list, _, err := calls.List(officer, b.milan, call.Filter{}); err != nil || len(list) != 1 {
		t.Errorf("calls of the imported tenant: %d %v", len(list), err)
	}

	// Into a fresh database: the platform rows come along.
	fresh := postgrestest.New(t)
	freshSuper := superConn(t, fresh)
	if _, err := freshSuper.Exec(ctx, probeTable); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantdump.Import(ctx, fresh.App, bytes.NewReader(file), tenantdump.ImportOptions{}); err != nil {
		t.Fatalf("import into a fresh database: %v", err)
	}
	compareStates(t, before, tenantState(t, freshSuper, b.milan))
	if again := exportOf(t, fresh.App, "milano"); !bytes.Equal(again, file) {
		t.Errorf("export from the fresh database differs:\n%s", firstDiff(file, again))
	}
}

func linesOfTable(lines []exportLine, tbl string) []map[string]*string {
	var out []map[string]*string
	for _, l := range lines {
		if l.Table == tbl {
			out = append(out, l.Row)
		}
	}
	return out
}

func countOwned(state map[string][]string) int {
	n := 0
	for _, rows := range state {
		n += len(rows)
	}
	return n
}

func emptyState(state map[string][]string) bool { return countOwned(state) == 0 }

func compareStates(t *testing.T, before, after map[string][]string) {
	t.Helper()
	for tbl, rows := range before {
		if !slices.Equal(rows, after[tbl]) {
			t.Errorf("%s differs after the import:\nbefore %q\nafter  %q", tbl, rows, after[tbl])
		}
	}
}

func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines, then %d", len(la), len(lb))
}

// reseal recomputes the end line of an edited export, so a test can get
// past the checksum to the checks behind it.
func reseal(t *testing.T, file []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	body := strings.Join(lines[:len(lines)-1], "\n") + "\n"
	sum := sha256.Sum256([]byte(body))
	end, _ := json.Marshal(map[string]tenantdump.End{"end": {Rows: len(lines) - 2, SHA256: hex.EncodeToString(sum[:])}})
	return append([]byte(body), append(end, '\n')...)
}

func TestTenantImportRefusals(t *testing.T) {
	t.Parallel()
	b := setupDump(t, false)
	ctx := t.Context()
	file := exportOf(t, b.db.App, "milano")
	before := tenantState(t, b.superConn, b.milan)
	var auditBefore int
	if err := b.superConn.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&auditBefore); err != nil {
		t.Fatal(err)
	}

	// The tenant is here: refused, unless told to keep what exists.
	_, err := tenantdump.Import(ctx, b.db.App, bytes.NewReader(file), tenantdump.ImportOptions{})
	if !errors.Is(err, tenantdump.ErrTenantExists) || !strings.Contains(err.Error(), "milano") {
		t.Errorf("import over an existing tenant: %v", err)
	}
	sum, err := tenantdump.Import(ctx, b.db.App, bytes.NewReader(file), tenantdump.ImportOptions{SkipExisting: true})
	if err != nil || sum.Skipped != sum.Rows {
		t.Errorf("import with --skip-existing over itself: %+v %v", sum, err)
	}
	compareStates(t, before, tenantState(t, b.superConn, b.milan))

	dropTenant(t, b.superConn, b.milan)
	lines := strings.SplitAfter(string(file), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last newline
	callLine := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, `{"table":"calls"`) })
	mid := len(lines) / 2
	cases := []struct {
		name string
		file string
		want error
		msg  string
	}{
		{"empty", "", tenantdump.ErrCorrupt, "empty"},
		{"not an export", "id,name\n", tenantdump.ErrCorrupt, "header"},
		{"no end line", strings.Join(lines[:len(lines)-1], ""), tenantdump.ErrCorrupt, "truncated"},
		{"cut mid-line", string(file[:len(file)/2]), tenantdump.ErrCorrupt, "cut short"},
		{"cut, end line kept", strings.Join(append(slices.Clone(lines[:mid]), lines[len(lines)-1]), ""), tenantdump.ErrCorrupt, "altered or cut"},
		{"a value altered", strings.Replace(string(file), `"title":"Anziani soli`, `"title":"Anziani solo`, 1), tenantdump.ErrCorrupt, "altered"},
		{"another schema", strings.Replace(string(file), `"schema":{"version":`, `"schema":{"version":9`, 1), tenantdump.ErrSchemaMismatch, "migrate"},
		{"a row of another tenant", string(reseal(t, []byte(strings.Replace(string(file), lines[callLine],
			strings.ReplaceAll(lines[callLine], b.milan.String(), b.bergamo.String()), 1)))), tenantdump.ErrCorrupt, "another tenant"},
		{"a column too few", string(reseal(t, []byte(strings.Replace(string(file), lines[callLine],
			strings.Replace(lines[callLine], `"summary":`, `"nosuch":`, 1), 1)))), tenantdump.ErrCorrupt, "lacks column summary"},
		{"a value the type refuses", string(reseal(t, []byte(strings.Replace(string(file), lines[callLine],
			strings.Replace(lines[callLine], `"version":"`, `"version":"x`, 1), 1)))), nil, "invalid input syntax"},
	}
	for _, tc := range cases {
		_, err := tenantdump.Import(ctx, b.db.App, strings.NewReader(tc.file), tenantdump.ImportOptions{})
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.msg)
		}
		if got := tenantState(t, b.superConn, b.milan); !emptyState(got) {
			t.Errorf("%s: a refused import left rows: %v", tc.name, got)
		}
	}
	var auditAfter int
	if err := b.superConn.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&auditAfter); err != nil {
		t.Fatal(err)
	}
	if auditAfter != auditBefore-len(before["audit_events"]) {
		t.Errorf("audit rows: %d before, %d of Milano dropped, %d now", auditBefore, len(before["audit_events"]), auditAfter)
	}
	// The intact file still imports.
	if _, err := tenantdump.Import(ctx, b.db.App, bytes.NewReader(file), tenantdump.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	compareStates(t, before, tenantState(t, b.superConn, b.milan))

	// Another database where the officer's user exists under another id:
	// a clear refusal, not a broken reference.
	other := postgrestest.New(t)
	otherSuper := superConn(t, other)
	if _, err := otherSuper.Exec(ctx, `INSERT INTO users (id, issuer, subject, created_at) VALUES ($1, 'https://idp.milano.example', 'rup', now())`, uuid.New()); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantdump.Import(ctx, other.App, bytes.NewReader(file), tenantdump.ImportOptions{}); !errors.Is(err, tenantdump.ErrClash) || !strings.Contains(err.Error(), "users") {
		t.Errorf("import with a clashing user: %v", err)
	}
	if got := tenantState(t, otherSuper, b.milan); !emptyState(got) {
		t.Errorf("a clashing import left rows: %v", got)
	}
	if _, err := tenantdump.Export(ctx, b.db.App, "atlantide", &bytes.Buffer{}, time.Now()); !errors.Is(err, tenantdump.ErrTenantNotFound) {
		t.Errorf("export of an unknown tenant: %v", err)
	}
}
