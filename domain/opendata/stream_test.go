package opendata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
)

// slowStore answers each tenant after a random delay, with one awarded
// agreement, and counts the reads in flight.
type slowStore struct {
	org            *organisation.Organisation
	fail           uuid.UUID
	inFlight, peak atomic.Int32
}

func (s *slowStore) Published(ctx context.Context, tenant uuid.UUID, _ []agreement.Status) (*opendata.Published, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	if tenant == s.fail {
		return nil, errors.New("connection lost")
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &opendata.Published{Funder: opendata.Funder{ID: tenant, Slug: "c", Name: "Comune", ISTAT: "015146"},
		Agreements: []*agreement.Agreement{{TenantID: tenant, ID: tenant, Title: "Convenzione", Status: "active",
			Start: at, End: at.AddDate(1, 0, 0), OfficerSignedAt: at, UpdatedAt: at, Budget: agreement.Budget{PublicCents: 100},
			Parties: []agreement.Party{{OrganisationID: s.org.ID, Role: "lead", BudgetShareCents: 100}}}},
		Organisations: map[uuid.UUID]*organisation.Organisation{s.org.ID: s.org}}, nil
}

// The national export reads ahead in parallel but writes tenants in the
// order given, with a bounded number of reads in flight; a failure leaves
// the JSON unterminated.
func TestNationalExportOrderAndBound(t *testing.T) {
	store := &slowStore{org: &organisation.Organisation{ID: uuid.New(), FiscalCode: "04123456784", LegalName: "Coop"}}
	svc := opendata.NewService(store, opendata.Config{}, nil)
	var tenants []uuid.UUID
	for range 200 {
		tenants = append(tenants, uuid.New())
	}
	var out bytes.Buffer
	n, err := svc.WriteGrants(t.Context(), &out, tenants)
	if err != nil || n != len(tenants) {
		t.Fatalf("export: %d grants, %v", n, err)
	}
	var pkg struct{ Grants []struct{ ID string } }
	if err := json.Unmarshal(out.Bytes(), &pkg); err != nil {
		t.Fatalf("not one JSON document: %v", err)
	}
	for i, g := range pkg.Grants {
		if !strings.Contains(g.ID, tenants[i].String()) {
			t.Fatalf("grant %d is %s, want tenant %s's", i, g.ID, tenants[i])
		}
	}
	if p := store.peak.Load(); p < 2 || p > opendata.Lookahead+2 {
		t.Errorf("%d reads in flight at most, want between 2 and %d", p, opendata.Lookahead+2)
	}

	store.fail = tenants[120]
	out.Reset()
	if n, err := svc.WriteGrants(t.Context(), &out, tenants); err == nil || n > 120 {
		t.Fatalf("a failed read: %d grants, %v", n, err)
	}
	if strings.HasSuffix(strings.TrimSpace(out.String()), "]}") || json.Valid(out.Bytes()) {
		t.Errorf("a cut export looks whole: …%s", out.String()[max(0, out.Len()-40):])
	}
}
