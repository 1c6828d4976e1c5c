package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// platformTables are the tables that are not tenant-owned: the registry
// itself and infrastructure. Any other table must carry tenant_id.
func platformTable(name string) bool {
	switch name {
	case "tenants", "schema_migrations", // the registry and the migration log
		"users", "platform_operators", // people, who may act in several tenants
		"login_attempts", "sessions", // authentication state, looked up before a tenant is in scope
		"organisations", "organisation_members", // third-sector bodies act in many tenants
		"user_tenants",                        // which tenants a person belongs to (no roles), for /v1/me
		"public_calls",                        // the published copy transparency requires, readable by anyone
		"public_practices",                    // the practice catalogue, readable by anyone
		"public_practice_replications",        // who replicated which practice, public
		"organisation_notices",                // public facts addressed to organisations across tenants
		"mail_sent_log", "user_notifications": // e-mails sent, and in-app notices addressed to people across tenants
		return true
	}
	return strings.HasPrefix(name, "river_")
}

// regionReadable are the aggregate tables a region reads of its
// municipalities (ADR 0010, 0017).
func regionReadable(name string) bool {
	switch name {
	case "report_snapshots", "network_ties", "network_alliances":
		return true
	}
	return false
}

// catalogViolations inspects the schema and lists every breach of the
// isolation rules (see migrations/embed.go). It runs as a superuser so it
// sees everything.
func catalogViolations(ctx context.Context, t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	query := func(q string, args ...any) pgx.Rows {
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("catalog query: %v", err)
		}
		return rows
	}

	type table struct {
		name          string
		rls, force    bool
		hasTenantID   bool
		tenantIDFirst bool
	}
	rows := query(`SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
			COALESCE((SELECT a.attname = 'tenant_id' FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = 1), false)
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`)
	var tables []table
	for rows.Next() {
		var tb table
		if err := rows.Scan(&tb.name, &tb.rls, &tb.force, &tb.hasTenantID, &tb.tenantIDFirst); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tb)
	}
	if len(tables) == 0 {
		t.Fatal("no tables found: is the database migrated?")
	}
	var owned []string
	for _, tb := range tables {
		switch {
		case platformTable(tb.name):
			continue
		case !tb.hasTenantID:
			add("%s: neither tenant-owned (no tenant_id) nor declared platform-level", tb.name)
			continue
		}
		owned = append(owned, tb.name)
		if !tb.tenantIDFirst {
			add("%s: tenant_id is not its first column", tb.name)
		}
		if !tb.rls {
			add("%s: row-level security is not enabled", tb.name)
		}
		if !tb.force {
			add("%s: row-level security is not forced", tb.name)
		}
	}

	// Policies: every tenant-owned table needs one covering all commands
	// whose USING and WITH CHECK both pin tenant_id to the current tenant.
	rows = query(`SELECT tablename::text, policyname::text, cmd, permissive, COALESCE(qual, ''), COALESCE(with_check, '')
		FROM pg_policies WHERE schemaname = 'public'`)
	good := map[string]bool{}
	for rows.Next() {
		var tbl, name, cmd, permissive, qual, check string
		if err := rows.Scan(&tbl, &name, &cmd, &permissive, &qual, &check); err != nil {
			t.Fatal(err)
		}
		pins := func(expr string) bool {
			return strings.Contains(expr, "tenant_id = app_current_tenant()")
		}
		if permissive != "PERMISSIVE" {
			continue
		}
		// The one exception: a region reads its municipalities' aggregates
		// (snapshots, the network), read-only, through a policy of that
		// exact name and shape.
		regionRead := name == "region_reads" && cmd == "SELECT" && regionReadable(tbl) &&
			strings.Contains(qual, "region_id = app_current_tenant()")
		if cmd == "ALL" && pins(qual) && pins(check) {
			good[tbl] = true
		} else if !regionRead && (!pins(qual) || (cmd != "SELECT" && cmd != "DELETE" && !pins(check))) {
			add("%s: policy %s does not pin tenant_id in both USING and WITH CHECK", tbl, name)
		}
	}
	for _, tbl := range owned {
		if !good[tbl] {
			add("%s: no policy with USING and WITH CHECK on tenant_id = app_current_tenant()", tbl)
		}
	}

	// Keys: primary, foreign and unique constraints, and unique indexes,
	// of a tenant-owned table lead with tenant_id.
	// A foreign key to a platform table (users, tenants) is exempt: such
	// tables are small reference data, replicated to every shard.
	rows = query(`SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text, a.attname::text,
			COALESCE(c.confrelid::regclass::text, '')
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'f', 'u')`)
	for rows.Next() {
		var tbl, name, typ, first, target string
		if err := rows.Scan(&tbl, &name, &typ, &first, &target); err != nil {
			t.Fatal(err)
		}
		if typ == "f" && platformTable(target) {
			continue
		}
		if slices.Contains(owned, tbl) && first != "tenant_id" {
			add("%s: constraint %s (%s) does not lead with tenant_id", tbl, name, typ)
		}
	}
	rows = query(`SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, COALESCE(a.attname::text, '(expression)')
		FROM pg_index i LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		JOIN pg_class c ON c.oid = i.indrelid
		WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace`)
	for rows.Next() {
		var tbl, idx, first string
		if err := rows.Scan(&tbl, &idx, &first); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(owned, tbl) && first != "tenant_id" {
			add("%s: unique index %s does not lead with tenant_id", tbl, idx)
		}
	}

	// Roles: the app roles own nothing, are no superusers and cannot bypass RLS.
	for _, role := range []string{postgres.AppRole, postgres.APIRole} {
		var super, bypass bool
		var ownedBy []string
		err := conn.QueryRow(ctx, `SELECT rolsuper, rolbypassrls,
				COALESCE((SELECT array_agg(c.relname::text) FROM pg_class c WHERE c.relowner = r.oid), '{}')
			FROM pg_roles r WHERE rolname = $1`, role).Scan(&super, &bypass, &ownedBy)
		if err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		if super || bypass {
			add("role %s can bypass row-level security (superuser=%v, bypassrls=%v)", role, super, bypass)
		}
		if len(ownedBy) > 0 {
			add("role %s owns %v", role, ownedBy)
		}
	}

	// Views run with the caller's rights, so RLS applies through them.
	rows = query(`SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
		AND NOT COALESCE('security_invoker=true' = ANY (c.reloptions) OR 'security_invoker=on' = ANY (c.reloptions), false)`)
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		add("view %s runs without security_invoker", v)
	}

	// The audit trail is append-only for the service.
	for _, priv := range []string{"UPDATE", "DELETE", "TRUNCATE"} {
		var has bool
		if err := conn.QueryRow(ctx, `SELECT has_table_privilege($1, 'audit_events', $2)`, postgres.APIRole, priv).Scan(&has); err != nil {
			t.Fatal(err)
		}
		if has {
			add("audit_events: %s may %s it", postgres.APIRole, priv)
		}
	}
	return out
}

func superConn(t *testing.T, db *postgrestest.DB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), db.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestCatalog fails the build when the schema breaks an isolation rule.
func TestCatalog(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	if v := catalogViolations(t.Context(), t, superConn(t, db)); len(v) > 0 {
		t.Errorf("schema breaks isolation rules:\n%s", strings.Join(v, "\n"))
	}
}

// TestCatalogCatchesBreaches proves the catalog test can fail: each change
// below, made to a fresh database, must be reported.
func TestCatalogCatchesBreaches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sql, want string
	}{
		{"rls not forced", `ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY`, "audit_events: row-level security is not forced"},
		{"rls disabled", `ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY`, "audit_events: row-level security is not enabled"},
		{"policy without with check", `DROP POLICY tenant_isolation ON audit_events;
			CREATE POLICY tenant_isolation ON audit_events USING (tenant_id = app_current_tenant())`, "audit_events: no policy"},
		{"table without tenant", `CREATE TABLE notes (id uuid PRIMARY KEY)`, "notes: neither tenant-owned"},
		{"key not led by tenant", `CREATE TABLE notes (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);
			ALTER TABLE notes ENABLE ROW LEVEL SECURITY; ALTER TABLE notes FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON notes USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())`, "constraint notes_pkey (p) does not lead with tenant_id"},
		{"unique index without tenant", `CREATE UNIQUE INDEX audit_events_action ON audit_events (action, id)`, "unique index audit_events_action"},
		{"view without security_invoker", `CREATE VIEW recent_audit AS SELECT * FROM audit_events`, "view recent_audit runs without security_invoker"},
		{"app role owns a table", `CREATE TABLE owned_by_app (tenant_id uuid); ALTER TABLE owned_by_app OWNER TO coprod_app`, "role coprod_app owns"},
		{"app role may delete audit", `GRANT DELETE ON audit_events TO coprod_app`, "may DELETE it"},
		{"a loose read policy", `CREATE POLICY peek ON audit_events FOR SELECT USING (true)`, "policy peek does not pin tenant_id"},
		{"foreign key to a tenant table not led by tenant", `CREATE TABLE notes (tenant_id uuid NOT NULL, id uuid NOT NULL, invitation uuid NOT NULL,
			PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, invitation));
			ALTER TABLE invitations ADD CONSTRAINT invitations_id_key UNIQUE (id);
			ALTER TABLE notes ADD CONSTRAINT notes_invitation_fkey FOREIGN KEY (invitation) REFERENCES invitations (id)`, "constraint notes_invitation_fkey (f) does not lead"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := postgrestest.New(t)
			conn := superConn(t, db)
			if _, err := conn.Exec(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			v := catalogViolations(t.Context(), t, conn)
			if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("want a violation containing %q, got:\n%s", tc.want, strings.Join(v, "\n"))
			}
		})
	}
}
