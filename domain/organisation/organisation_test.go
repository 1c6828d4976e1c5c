package organisation_test

import (
	"errors"
	"strings"
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

// FuzzValidFiscalCode holds the validator to a reference written apart from
// it (the partita IVA's check digit, by the table of doubled digits), and to
// the property the check digit exists for: an accepted code with any one
// digit changed is refused. Seeds: testdata/fuzz/FuzzValidFiscalCode.
func FuzzValidFiscalCode(f *testing.F) {
	for _, s := range []string{"01199250158", "12345678903", "", "abc", "0000000000٠"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := organisation.ValidFiscalCode(s), referenceFiscalCode(s)
		if got != want {
			t.Fatalf("ValidFiscalCode(%q) = %v, the reference says %v", s, got, want)
		}
		if !got {
			return
		}
		for i := range 11 {
			for d := byte('0'); d <= '9'; d++ {
				b := []byte(s)
				if b[i] == d {
					continue
				}
				b[i] = d
				if organisation.ValidFiscalCode(string(b)) {
					t.Fatalf("%q and %q (digit %d changed) both accepted", s, b, i)
				}
			}
		}
	})
}

// referenceFiscalCode: eleven ASCII digits, not seven leading zeros, the
// last equal to the check digit of the first ten.
func referenceFiscalCode(s string) bool {
	if len(s) != 11 || strings.HasPrefix(s, "0000000") {
		return false
	}
	doubled := [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
	sum := 0
	for i, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
		switch {
		case i == 10:
		case i%2 == 0:
			sum += int(c - '0')
		default:
			sum += doubled[c-'0']
		}
	}
	return int(s[10]-'0') == (10-sum%10)%10
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
