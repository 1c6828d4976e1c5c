package impact_test

import (
	"errors"
	"testing"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/impact"
)

// checkErr fails unless err is the domain error with code and field, or
// code is empty and err is nil.
func checkErr(t *testing.T, name string, err error, code, field string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Errorf("%s: got %v, want %s", name, err, code)
		return
	}
	if de.Code != code || de.Field != field {
		t.Errorf("%s: got %s (field %q), want %s (field %q)", name, de.Code, de.Field, code, field)
	}
}

// v parses a value or fails the test.
func v(t *testing.T, s string) impact.Value {
	t.Helper()
	x, err := impact.ParseValue(s)
	if err != nil {
		t.Fatalf("ParseValue(%q): %v", s, err)
	}
	return x
}

func ptr(x impact.Value) *impact.Value { return &x }
