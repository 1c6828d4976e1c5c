package postgres

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Roles of a provisioned database. OwnerRole owns the schema and runs the
// migrations; APIRole is the service's login, a member of AppRole that owns
// nothing and cannot bypass row-level security.
const (
	OwnerRole = "coprod_owner"
	APIRole   = "coprod_api"
)

// Provisioned holds the URLs of a database made by Provision.
type Provisioned struct {
	OwnerURL string // migrations
	AppURL   string // the service
}

// Provision creates, as a superuser, what coprod needs in a cluster it
// manages itself (`coprod dev`, tests): the owner, group and login roles and
// a database owned by the owner. It is idempotent; passwords are (re)set.
// Production databases are provisioned by their DBA instead (README).
func Provision(ctx context.Context, superURL, database, ownerPassword, apiPassword string) (Provisioned, error) {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return Provisioned{}, fmt.Errorf("connect as superuser: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Roles are cluster-wide and tests provision concurrently: serialise.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7031986056)`); err != nil {
		return Provisioned{}, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7031986056)`) //nolint:errcheck
	stmts := []string{
		ensureRole(OwnerRole, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"),
		ensureRole(AppRole, "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"),
		ensureRole(APIRole, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"),
		fmt.Sprintf(`ALTER ROLE %s PASSWORD %s`, OwnerRole, quoteLiteral(ownerPassword)),
		fmt.Sprintf(`ALTER ROLE %s PASSWORD %s`, APIRole, quoteLiteral(apiPassword)),
		fmt.Sprintf(`GRANT %s TO %s`, AppRole, APIRole),
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return Provisioned{}, fmt.Errorf("provision roles: %w", err)
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, database).Scan(&exists); err != nil {
		return Provisioned{}, err
	}
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, pgx.Identifier{database}.Sanitize(), OwnerRole)); err != nil {
			return Provisioned{}, fmt.Errorf("create database: %w", err)
		}
	}
	// The public schema must belong to the owner, and nobody else may create in it.
	dbConn, err := pgx.Connect(ctx, withDatabase(superURL, database, "", ""))
	if err != nil {
		return Provisioned{}, err
	}
	defer dbConn.Close(context.WithoutCancel(ctx))
	if _, err := dbConn.Exec(ctx, fmt.Sprintf(`ALTER SCHEMA public OWNER TO %s; REVOKE CREATE ON SCHEMA public FROM PUBLIC`, OwnerRole)); err != nil {
		return Provisioned{}, fmt.Errorf("prepare schema: %w", err)
	}
	return Provisioned{
		OwnerURL: withDatabase(superURL, database, OwnerRole, ownerPassword),
		AppURL:   withDatabase(superURL, database, APIRole, apiPassword),
	}, nil
}

func ensureRole(name, attrs string) string {
	return fmt.Sprintf(`DO $$ BEGIN
		CREATE ROLE %[1]s %[2]s;
	EXCEPTION WHEN duplicate_object THEN
		ALTER ROLE %[1]s %[2]s;
	END $$`, name, attrs)
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// withDatabase returns u with another database and, when user is set, other credentials.
func withDatabase(u, database, user, password string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + database
	if user != "" {
		p.User = url.UserPassword(user, password)
	}
	return p.String()
}
