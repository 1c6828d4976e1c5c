package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/tenantdump"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
	"github.com/coprod/coprod/tenants/istat"
)

const tenantsUsage = `Usage: coprod tenants <command> [flags] [args]

  create  --slug S --name N --kind municipality|region [--istat CODE] [--region REF] [--population N] [--activate]
  list    [--kind K] [--status S] [--region REF] [--limit N] [--cursor C] [--json]
  show    REF                      (REF: slug or id)
  activate|suspend|resume|offboard REF [--reason TEXT]
  import-istat [--activate] FILE    (FILE: ISTAT CSV as shipped in tenants/istat/comuni.csv; - for stdin)
  export TENANT [-o FILE]          (TENANT: slug or id; all its rows as NDJSON, to stdout by default)
  import [-i FILE] [--skip-existing]  (an export, from stdin by default; all or nothing)

Acts as the platform operator, directly on the database: COPROD_DATABASE_URL,
or the local cluster of the data folder when unset.
`

func tenantsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tenantsUsage)
		return &usageError{"tenants: no command given"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("coprod tenants "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		slug, name, kind, istatCode, region, status, reason, cursor string
		file                                                        string
		population, limit                                           int
		activate, asJSON, skipExisting                              bool
	)
	switch sub {
	case "create":
		fs.StringVar(&slug, "slug", "", "URL-safe unique name")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&kind, "kind", "", "municipality or region")
		fs.StringVar(&istatCode, "istat", "", "ISTAT code: 6 digits (municipality) or 2 (region)")
		fs.StringVar(&region, "region", "", "parent region (slug or id) of a municipality")
		fs.IntVar(&population, "population", 0, "residents")
		fs.BoolVar(&activate, "activate", false, "activate at once instead of leaving it provisioning")
	case "list":
		fs.StringVar(&kind, "kind", "", "municipality or region")
		fs.StringVar(&status, "status", "", "provisioning, active, suspended or offboarded")
		fs.StringVar(&region, "region", "", "only the municipalities of this region")
		fs.IntVar(&limit, "limit", 50, "page size (max 500)")
		fs.StringVar(&cursor, "cursor", "", "id of the last tenant of the previous page")
		fs.BoolVar(&asJSON, "json", false, "JSON lines instead of a table")
	case "activate", "suspend", "resume", "offboard":
		fs.StringVar(&reason, "reason", "", "why, for the audit trail")
	case "import-istat":
		fs.BoolVar(&activate, "activate", false, "new tenants start active instead of provisioning")
	case "export":
		fs.StringVar(&file, "o", "", "write to this file instead of stdout")
	case "import":
		fs.StringVar(&file, "i", "", "read this file instead of stdin")
		fs.BoolVar(&skipExisting, "skip-existing", false, "the tenant may exist: keep the rows already there, add the missing ones")
	case "show":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, tenantsUsage)
		return nil
	default:
		fmt.Fprint(stderr, tenantsUsage)
		return &usageError{fmt.Sprintf("tenants: unknown command %q", sub)}
	}
	// Database flags and variables come after the command's own.
	cfg, rest, err := loadConfig("tenants "+sub, getenv, nil, nil)
	if err != nil {
		return err
	}
	// Flags may also follow the arguments (export TENANT -o FILE).
	rest = nil
	for {
		if err := fs.Parse(args); err != nil {
			return &usageError{err.Error()}
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		rest, args = append(rest, args[0]), args[1:]
	}
	needArg := func() (string, error) {
		if len(rest) != 1 {
			return "", &usageError{fmt.Sprintf("tenants %s takes exactly one argument", sub)}
		}
		return rest[0], nil
	}

	log := newLogger(stderr, cfg.LogLevel)
	url := cfg.DatabaseURL
	if url == "" {
		l, err := openLocalDB(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		defer l.Stop() //nolint:errcheck
		url = l.AppURL
	}
	pool, err := newPool(ctx, url, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	who := "cli"
	if u, err := user.Current(); err == nil {
		who = "cli:" + u.Username
	}
	switch sub {
	case "export":
		ref, err := needArg()
		if err != nil {
			return err
		}
		sum, err := exportTenant(ctx, pool, ref, file, stdout)
		if err != nil {
			return err
		}
		log.Info("tenant exported", "tenant", sum.Tenant.ID, "slug", sum.Tenant.Slug, "rows", sum.Rows, "sha256", sum.SHA256, "by", who)
		if n := sum.Tables["application_attachments"]; n > 0 {
			fmt.Fprintf(stderr, "attachments are not in the file: copy the folder %s (%d files) to the target's blob folder\n",
				filepath.Join(cfg.BlobDir, sum.Tenant.ID.String()), n)
		}
		return nil
	case "import":
		if len(rest) != 0 {
			return &usageError{"tenants import takes no argument (use -i FILE)"}
		}
		sum, err := importTenant(ctx, pool, file, skipExisting, stdout)
		if err != nil {
			return err
		}
		log.Info("tenant imported", "tenant", sum.Tenant.ID, "slug", sum.Tenant.Slug, "rows", sum.Rows, "skipped", sum.Skipped, "sha256", sum.SHA256, "by", who)
		return nil
	}
	svc := tenants.NewService(postgres.NewStore(pool).Registry(), nil)
	ctx = domain.WithPrincipal(ctx, domain.Principal{Subject: who, Roles: []domain.Role{domain.RolePlatformOperator}})

	switch sub {
	case "create":
		t, err := svc.Create(ctx, tenants.CreateInput{Slug: slug, Name: name, Kind: tenants.Kind(kind), ISTATCode: istatCode, Region: region, Population: population})
		if err != nil {
			return cliError(err)
		}
		if activate {
			if t, err = svc.ChangeStatus(ctx, t.ID.String(), "activate", "created active from the CLI", 0); err != nil {
				return cliError(err)
			}
		}
		return printTenant(stdout, t)
	case "show":
		ref, err := needArg()
		if err != nil {
			return err
		}
		t, err := svc.Get(ctx, ref)
		if err != nil {
			return cliError(err)
		}
		return printTenant(stdout, t)
	case "list":
		f := tenants.Filter{Kind: tenants.Kind(kind), Status: tenants.Status(status), Limit: limit}
		if cursor != "" {
			if f.After, err = uuid.Parse(cursor); err != nil {
				return &usageError{"--cursor must be a tenant id"}
			}
		}
		var page tenants.Page
		if region != "" {
			page, err = svc.Municipalities(ctx, region, f)
		} else {
			page, err = svc.List(ctx, f)
		}
		if err != nil {
			return cliError(err)
		}
		return printPage(stdout, page, asJSON)
	case "activate", "suspend", "resume", "offboard":
		ref, err := needArg()
		if err != nil {
			return err
		}
		t, err := svc.ChangeStatus(ctx, ref, sub, reason, 0)
		if err != nil {
			return cliError(err)
		}
		return printTenant(stdout, t)
	case "import-istat":
		path, err := needArg()
		if err != nil {
			return err
		}
		return importISTAT(ctx, svc, path, activate, stdout)
	}
	return nil
}

func importISTAT(ctx context.Context, svc *tenants.Service, path string, activate bool, stdout io.Writer) error {
	start := time.Now()
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	ds, err := istat.Parse(r)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was imported)", path, err)
	}
	res, err := svc.ImportISTAT(ctx, ds, activate)
	if err != nil {
		return fmt.Errorf("import %s: %w (nothing was imported)", path, cliError(err))
	}
	fmt.Fprintf(stdout, "imported %s in %s: %d regions and %d municipalities created, %d updated, %d unchanged\n",
		path, time.Since(start).Round(time.Millisecond), res.RegionsCreated, res.MunicipalitiesCreated, res.Updated, res.Unchanged)
	return nil
}

// exportTenant writes the export to stdout or to file; a file appears only
// once complete (written aside, then renamed), readable by its owner only.
func exportTenant(ctx context.Context, db tenantdump.Beginner, ref, file string, stdout io.Writer) (tenantdump.Summary, error) {
	if file == "" || file == "-" {
		sum, err := tenantdump.Export(ctx, db, ref, stdout, time.Now())
		return sum, cliError(err)
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return tenantdump.Summary{}, err
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after the rename
	defer f.Close()
	sum, err := tenantdump.Export(ctx, db, ref, f, time.Now())
	if err != nil {
		return sum, cliError(err)
	}
	if err := f.Sync(); err != nil {
		return sum, err
	}
	if err := f.Close(); err != nil {
		return sum, err
	}
	return sum, os.Rename(f.Name(), file)
}

func importTenant(ctx context.Context, db tenantdump.Beginner, file string, skipExisting bool, stdout io.Writer) (tenantdump.Summary, error) {
	start := time.Now()
	var r io.Reader = os.Stdin
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return tenantdump.Summary{}, err
		}
		defer f.Close()
		r = f
	}
	sum, err := tenantdump.Import(ctx, db, r, tenantdump.ImportOptions{SkipExisting: skipExisting})
	if err != nil {
		return sum, cliError(err)
	}
	for _, w := range sum.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "imported %s (%s): %d rows into %d tables, %d already present, in %s\n", sum.Tenant.Slug, sum.Tenant.ID,
		sum.Rows-sum.Skipped, len(sum.Tables), sum.Skipped, time.Since(start).Round(time.Millisecond))
	return sum, nil
}

// cliError shows a domain error as its code and message; a usage-type
// mistake exits 2 like a bad flag.
func cliError(err error) error {
	switch domain.KindOf(err) {
	case domain.KindInvalid, domain.KindNotFound, domain.KindConflict, domain.KindPrecondition, domain.KindStale:
		return &usageError{err.Error()}
	}
	return err
}

func printTenant(w io.Writer, t *tenants.Tenant) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

func printPage(w io.Writer, page tenants.Page, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, t := range page.Items {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSLUG\tNAME\tKIND\tISTAT\tSTATUS\tPOPULATION")
		for _, t := range page.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", t.ID, t.Slug, t.Name, t.Kind, t.ISTATCode, t.Status, t.Population)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if page.Next != uuid.Nil {
		fmt.Fprintf(os.Stderr, "more: --cursor %s\n", page.Next)
	}
	return nil
}
