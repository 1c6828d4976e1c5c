package tenants_test

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func region(t *testing.T) *tenants.Tenant {
	t.Helper()
	r, err := tenants.New("regione-lombardia", "Lombardia", tenants.KindRegion, "03", nil, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNew(t *testing.T) {
	t.Parallel()
	lombardia := region(t)
	offboarded := region(t)
	offboarded.Status = tenants.StatusOffboarded
	milano, _ := tenants.New("milano", "Milano", tenants.KindMunicipality, "015146", lombardia, 1, now)
	cases := []struct {
		name       string
		slug, n    string
		kind       tenants.Kind
		istat      string
		parent     *tenants.Tenant
		population int
		want       *domain.Error
		field      string
	}{
		{"municipality", "bergamo", "Bergamo", tenants.KindMunicipality, "016024", lombardia, 120000, nil, ""},
		{"ambito without istat code", "ambito-1", "Ambito 1", tenants.KindMunicipality, "", lombardia, 0, nil, ""},
		{"region", "regione-lazio", "Lazio", tenants.KindRegion, "12", nil, 0, nil, ""},
		{"slug upper case", "Milano", "Milano", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"slug one char", "m", "M", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"slug double hyphen", "a--b", "M", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"slug trailing hyphen", "ab-", "M", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"slug reserved", "admin", "M", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"slug too long", strings.Repeat("a", 64), "M", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidSlug, "slug"},
		{"empty name", "ok", "  ", tenants.KindMunicipality, "", lombardia, 0, tenants.ErrInvalidName, "name"},
		{"unknown kind", "ok", "X", "city", "", lombardia, 0, tenants.ErrInvalidKind, "kind"},
		{"negative population", "ok", "X", tenants.KindMunicipality, "", lombardia, -1, tenants.ErrInvalidPop, "population"},
		{"municipality code with 5 digits", "ok", "X", tenants.KindMunicipality, "01514", lombardia, 0, tenants.ErrInvalidISTAT, "istatCode"},
		{"municipality code with letters", "ok", "X", tenants.KindMunicipality, "01514a", lombardia, 0, tenants.ErrInvalidISTAT, "istatCode"},
		{"region code out of range", "ok", "X", tenants.KindRegion, "21", nil, 0, tenants.ErrInvalidISTAT, "istatCode"},
		{"region without code", "ok", "X", tenants.KindRegion, "", nil, 0, tenants.ErrInvalidISTAT, "istatCode"},
		{"region with parent", "ok", "X", tenants.KindRegion, "04", lombardia, 0, tenants.ErrRegionParent, "region"},
		{"municipality without region", "ok", "X", tenants.KindMunicipality, "", nil, 0, tenants.ErrRegionRequired, "region"},
		{"municipality under a municipality", "ok", "X", tenants.KindMunicipality, "", milano, 0, tenants.ErrRegionInvalid, "region"},
		{"municipality under an offboarded region", "ok", "X", tenants.KindMunicipality, "", offboarded, 0, tenants.ErrRegionInvalid, "region"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tenants.New(tc.slug, tc.n, tc.kind, tc.istat, tc.parent, tc.population, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got.Status != tenants.StatusProvisioning || got.Version != 1 || got.ID.Version() != 7 {
					t.Errorf("new tenant: status %s version %d id v%d", got.Status, got.Version, got.ID.Version())
				}
				if tc.parent != nil && got.RegionID != tc.parent.ID {
					t.Errorf("region id not set")
				}
				return
			}
			var de *domain.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Field != tc.field {
				t.Fatalf("got %v (field %q), want %v on %q", err, fieldOf(err), tc.want, tc.field)
			}
		})
	}
}

func fieldOf(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Field
	}
	return ""
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	all := []tenants.Status{tenants.StatusProvisioning, tenants.StatusActive, tenants.StatusSuspended, tenants.StatusOffboarded}
	allowed := map[string]map[tenants.Status]tenants.Status{
		"activate": {tenants.StatusProvisioning: tenants.StatusActive},
		"suspend":  {tenants.StatusActive: tenants.StatusSuspended},
		"resume":   {tenants.StatusSuspended: tenants.StatusActive},
		"offboard": {tenants.StatusProvisioning: tenants.StatusOffboarded, tenants.StatusActive: tenants.StatusOffboarded, tenants.StatusSuspended: tenants.StatusOffboarded},
		"delete":   {},
	}
	later := now.Add(time.Hour)
	for action, from := range allowed {
		for _, s := range all {
			r := region(t)
			r.Status = s
			prev, err := r.Transition(action, later)
			to, ok := from[s]
			switch {
			case ok && err != nil:
				t.Errorf("%s from %s: %v", action, s, err)
			case ok && (r.Status != to || prev != s || !r.UpdatedAt.Equal(later)):
				t.Errorf("%s from %s: now %s (prev %s), want %s", action, s, r.Status, prev, to)
			case !ok && !errors.Is(err, tenants.ErrTransition):
				t.Errorf("%s from %s: got %v, want %v", action, s, err, tenants.ErrTransition)
			case !ok && r.Status != s:
				t.Errorf("%s from %s: refused but status changed to %s", action, s, r.Status)
			}
		}
	}
}

func TestUsable(t *testing.T) {
	t.Parallel()
	officer := domain.Principal{Subject: "u", Roles: []domain.Role{domain.RoleOfficer}}
	op := domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}}
	cases := []struct {
		status         tenants.Status
		user, operator error
	}{
		{tenants.StatusActive, nil, nil},
		{tenants.StatusProvisioning, tenants.ErrNotActive, nil},
		{tenants.StatusSuspended, tenants.ErrSuspended, nil},
		{tenants.StatusOffboarded, tenants.ErrNotFound, tenants.ErrNotFound},
	}
	for _, tc := range cases {
		r := region(t)
		r.Status = tc.status
		if err := r.Usable(officer); !errors.Is(err, tc.user) || (tc.user == nil) != (err == nil) {
			t.Errorf("%s, officer: got %v, want %v", tc.status, err, tc.user)
		}
		if err := r.Usable(op); !errors.Is(err, tc.operator) || (tc.operator == nil) != (err == nil) {
			t.Errorf("%s, operator: got %v, want %v", tc.status, err, tc.operator)
		}
	}
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Milano":                            "milano",
		"Sant'Angelo Lodigiano":             "sant-angelo-lodigiano",
		"Forlì":                             "forli",
		"Bolzano/Bozen":                     "bolzano-bozen",
		"Reggio nell'Emilia":                "reggio-nell-emilia",
		"San Floriano del Collio-Števerjan": "san-floriano-del-collio-steverjan",
		"Valle d'Aosta/Vallée d'Aoste":      "valle-d-aosta-vallee-d-aoste",
		"  Ne ":                             "ne",
		"Großglockner":                      "grossglockner",
	}
	for in, want := range cases {
		got := tenants.Slugify(in)
		if got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
		if !tenants.ValidSlug(got) {
			t.Errorf("Slugify(%q) = %q is not a valid slug", in, got)
		}
	}
}

// TestSlugShape checks the hand-written slug check against the pattern it
// implements, on random strings over an alphabet that exercises every rule.
func TestSlugShape(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){1,62}$`)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "az09-Z_ é"
	for range 200_000 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		if want := re.MatchString(s) && !map[string]bool{"admin": true, "api": true, "platform": true, "public": true, "me": true, "system": true, "v1": true}[s]; tenants.ValidSlug(s) != want {
			t.Fatalf("ValidSlug(%q) = %v, the pattern says %v", s, !want, want)
		}
	}
	for _, s := range []string{"milano", "reggio-emilia", "a1", strings.Repeat("a", 63)} {
		if !tenants.ValidSlug(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"a", "-a", "a-", "a--b", strings.Repeat("a", 64), "Milano", "admin"} {
		if tenants.ValidSlug(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
