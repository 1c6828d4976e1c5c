package impact_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/coprod/coprod/domain/impact"
)

func TestParseValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want impact.Value
		text string // String() of the result
	}{
		{"0", 0, "0"},
		{"-0", 0, "0"},
		{"3", 3000, "3"},
		{"12.5", 12500, "12.5"},
		{"12.50", 12500, "12.5"},
		{"12.500", 12500, "12.5"},
		{"-0.125", -125, "-0.125"},
		{"0.001", 1, "0.001"},
		{"-0.001", -1, "-0.001"},
		{"100", 100000, "100"},
		{"10.05", 10050, "10.05"},
		{"999999999999.999", impact.MaxValue, "999999999999.999"},
		{"-999999999999.999", impact.MinValue, "-999999999999.999"},
	}
	for _, tt := range tests {
		got, err := impact.ParseValue(tt.in)
		if err != nil {
			t.Errorf("ParseValue(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseValue(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.text {
			t.Errorf("ParseValue(%q).String() = %q, want %q", tt.in, s, tt.text)
		}
	}
}

func TestParseValueRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, code string }{
		{"", "invalid_value"},
		{"-", "invalid_value"},
		{"+3", "invalid_value"},
		{" 3", "invalid_value"},
		{"3 ", "invalid_value"},
		{"1.", "invalid_value"},
		{".5", "invalid_value"},
		{"-.5", "invalid_value"},
		{"1.2345", "invalid_value"},
		{"0.1000", "invalid_value"},
		{"1e3", "invalid_value"},
		{"1.5E2", "invalid_value"},
		{"007", "invalid_value"},
		{"00", "invalid_value"},
		{"1,5", "invalid_value"},
		{"1.000.000", "invalid_value"},
		{"--1", "invalid_value"},
		{"0x10", "invalid_value"},
		{"NaN", "invalid_value"},
		{"Inf", "invalid_value"},
		{"１", "invalid_value"}, // a full-width digit
		{"1000000000000", "value_out_of_range"},
		{"-1000000000000", "value_out_of_range"},
		{"99999999999999999999999", "value_out_of_range"},
	}
	for _, tt := range tests {
		got, err := impact.ParseValue(tt.in)
		checkErr(t, "ParseValue("+tt.in+")", err, tt.code, "")
		if got != 0 {
			t.Errorf("ParseValue(%q) = %d on error, want 0", tt.in, got)
		}
	}
}

func TestValueString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   impact.Value
		want string
	}{
		{0, "0"},
		{1, "0.001"},
		{10, "0.01"},
		{100, "0.1"},
		{1000, "1"},
		{1010, "1.01"},
		{-1, "-0.001"},
		{-1500, "-1.5"},
		{3000, "3"},
		{12500, "12.5"},
		{-125, "-0.125"},
		{math.MaxInt64, "9223372036854775.807"},
		{math.MinInt64, "-9223372036854775.808"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Value(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

// TestValueRoundTrip: every value in range survives String and ParseValue,
// and JSON marshalling and unmarshalling.
func TestValueRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(20260101, 42))
	for i := 0; i < 20000; i++ {
		var x impact.Value
		switch i % 3 {
		case 0:
			x = impact.Value(r.Int64N(2_000_001) - 1_000_000) // small, many decimals
		case 1:
			x = impact.Value(r.Int64N(int64(impact.MaxValue)*2+1)) + impact.MinValue
		default:
			x = impact.Value(r.Int64N(1000)-500) * impact.Scale // whole units
		}
		got, err := impact.ParseValue(x.String())
		if err != nil || got != x {
			t.Fatalf("ParseValue(%q) = %d, %v; want %d", x.String(), got, err, x)
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("json.Marshal(%d): %v", x, err)
		}
		var back impact.Value
		if err := json.Unmarshal(b, &back); err != nil || back != x {
			t.Fatalf("json round trip of %d via %s = %d, %v", x, b, back, err)
		}
		// A JavaScript client reads the number as a double: the decimal form
		// must come back unchanged.
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.Marshal(f)
		if got, err := impact.ParseValue(string(b2)); err == nil && got != x {
			t.Fatalf("%s through a float64 is %s", b, b2)
		}
	}
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		V impact.Value  `json:"v"`
		P *impact.Value `json:"p,omitempty"`
	}
	b, err := json.Marshal(doc{V: 12500, P: ptr(-125)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"v":12.5,"p":-0.125}` {
		t.Errorf("json.Marshal = %s", b)
	}
	b, err = json.Marshal(doc{V: 3000})
	if err != nil || string(b) != `{"v":3}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	if _, err := json.Marshal(impact.MaxValue + 1); err == nil {
		t.Error("json.Marshal of a value out of range succeeded")
	}

	var d doc
	if err := json.Unmarshal([]byte(`{"v":0.125,"p":100}`), &d); err != nil || d.V != 125 || d.P == nil || *d.P != 100000 {
		t.Errorf("json.Unmarshal = %+v, %v", d, err)
	}
	d = doc{V: 7}
	if err := json.Unmarshal([]byte(`{"v":null}`), &d); err != nil || d.V != 7 {
		t.Errorf("null: got %d, %v; want unchanged 7", d.V, err)
	}
	for _, in := range []string{`{"v":"12.5"}`, `{"v":1.25e1}`, `{"v":0.30000000000000004}`, `{"v":1E3}`, `{"v":true}`, `{"v":1000000000000}`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("json.Unmarshal(%s) succeeded: %d", in, d.V)
		}
	}
}

func TestValueInRange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    impact.Value
		want bool
	}{{0, true}, {impact.MaxValue, true}, {impact.MinValue, true}, {impact.MaxValue + 1, false}, {impact.MinValue - 1, false}, {math.MinInt64, false}} {
		if got := tt.v.InRange(); got != tt.want {
			t.Errorf("Value(%d).InRange() = %v", int64(tt.v), got)
		}
	}
}
