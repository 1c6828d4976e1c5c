package organisation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/organisation"
)

func TestValidFiscalCode(t *testing.T) {
	t.Parallel()
	valid := []string{"01199250158", "00743110157", "97103880585", "12345678903"}
	invalid := []string{"", "0119925015", "011992501580", "01199250159", "0119925015a", "00000000000", "12345678901", " 1199250158"}
	for _, c := range valid {
		if !organisation.ValidFiscalCode(c) {
			t.Errorf("%q refused", c)
		}
	}
	for _, c := range invalid {
		if organisation.ValidFiscalCode(c) {
			t.Errorf("%q accepted", c)
		}
	}
	// Every single-digit change of a valid code breaks its check digit.
	for i := 0; i < 11; i++ {
		for d := byte('0'); d <= '9'; d++ {
			b := []byte("01199250158")
			if b[i] == d {
				continue
			}
			b[i] = d
			if organisation.ValidFiscalCode(string(b)) {
				t.Errorf("%s (digit %d changed) accepted", b, i)
			}
		}
	}
}

func FuzzValidFiscalCode(f *testing.F) {
	for _, s := range []string{"01199250158", "12345678903", "", "abc", "0000000000٠"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if organisation.ValidFiscalCode(s) {
			if len(s) != 11 {
				t.Fatalf("accepted %q of length %d", s, len(s))
			}
			for _, r := range s {
				if r < '0' || r > '9' {
					t.Fatalf("accepted non-digit in %q", s)
				}
			}
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	base := func() organisation.Organisation {
		return organisation.Organisation{FiscalCode: "01199250158", LegalName: " Coop Sociale Esempio ", LegalForm: "social_cooperative"}
	}
	o := base()
	if err := o.Validate(); err != nil || o.LegalName != "Coop Sociale Esempio" || o.RUNTS.Status != "not_registered" {
		t.Fatalf("valid organisation: %v %+v", err, o)
	}
	cases := []struct {
		name string
		edit func(*organisation.Organisation)
		want *domain.Error
	}{
		{"bad fiscal code", func(o *organisation.Organisation) { o.FiscalCode = "01199250159" }, organisation.ErrInvalidFiscalCode},
		{"no name", func(o *organisation.Organisation) { o.LegalName = " " }, organisation.ErrInvalidName},
		{"unknown form", func(o *organisation.Organisation) { o.LegalForm = "spa" }, organisation.ErrInvalidLegalForm},
		{"registered without number", func(o *organisation.Organisation) { o.RUNTS = organisation.RUNTS{Status: "registered", Section: "aps"} }, organisation.ErrInvalidRUNTS},
		{"unknown section", func(o *organisation.Organisation) { o.RUNTS = organisation.RUNTS{Section: "z"} }, organisation.ErrInvalidRUNTS},
		{"bad seat", func(o *organisation.Organisation) { o.SeatISTAT = "15146" }, organisation.ErrInvalidSeat},
		{"bad pec", func(o *organisation.Organisation) { o.Contacts.PEC = "nope" }, organisation.ErrInvalidContacts},
	}
	for _, tc := range cases {
		o := base()
		tc.edit(&o)
		if err := o.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	o = base()
	o.RUNTS = organisation.RUNTS{Status: "registered", Number: "12345", Section: "is", RegisteredOn: time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC)}
	if err := o.Validate(); err != nil {
		t.Errorf("registered: %v", err)
	}
}
