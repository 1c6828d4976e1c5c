package impact

import (
	"strconv"
	"strings"

	"github.com/coprod/coprod/domain"
)

// Value is an indicator value in thousandths of the indicator's unit
// (milli-units): 12.5 % is 12500 when the unit is percent, 3 people are
// 3000. All arithmetic on values is integer arithmetic, hence exact and
// deterministic.
type Value int64

// Scale is the number of Value steps in one unit.
const Scale = 1000

// The range of a Value that can be parsed, validated or written as JSON:
// ±999,999,999,999.999, that is 15 significant digits, so that the decimal
// form survives a round trip through an IEEE 754 double (a JavaScript
// number) unchanged.
const (
	MaxValue Value = 999_999_999_999_999
	MinValue Value = -MaxValue
)

// Value errors.
var (
	ErrInvalidValue    = domain.Errorf(domain.KindInvalid, "invalid_value", "a value is a decimal number with at most 3 decimals, like 12.5, 3 or -0.125")
	ErrValueOutOfRange = domain.Errorf(domain.KindInvalid, "value_out_of_range", "a value is between -999999999999.999 and 999999999999.999")
)

// ParseValue reads a decimal number with an optional leading minus and up to
// 3 decimals: "12.5", "3", "-0.125", "0.500". It accepts no plus sign, no
// exponent, no spaces, no thousands separators, no leading zeros ("007"),
// and needs digits on both sides of a decimal point ("1." and ".5" are
// refused). "-0" is 0. The result lies in [MinValue, MaxValue].
func ParseValue(s string) (Value, error) {
	rest, neg := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(rest, ".")
	if !digits(whole) || (len(whole) > 1 && whole[0] == '0') || (dot && (!digits(frac) || len(frac) > 3)) {
		return 0, ErrInvalidValue.WithMessage("%q is not a decimal number with at most 3 decimals", s)
	}
	// Without leading zeros, 12 integer digits are at most 999,999,999,999.
	if len(whole) > 12 {
		return 0, ErrValueOutOfRange
	}
	var v int64
	for i := 0; i < len(whole); i++ {
		v = v*10 + int64(whole[i]-'0')
	}
	for i := 0; i < 3; i++ {
		v *= 10
		if i < len(frac) {
			v += int64(frac[i] - '0')
		}
	}
	if neg {
		v = -v
	}
	return Value(v), nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes v in the shortest decimal form that ParseValue reads back:
// "12.5", "3", "-0.125", "0". It formats every int64, also outside the
// parseable range.
func (v Value) String() string {
	u := uint64(v)
	if v < 0 {
		u = -u // the magnitude, also for math.MinInt64
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	b.WriteString(strconv.FormatUint(u/Scale, 10))
	if f := u % Scale; f != 0 {
		b.WriteByte('.')
		d := []byte{byte('0' + f/100), byte('0' + f/10%10), byte('0' + f%10)}
		for d[len(d)-1] == '0' {
			d = d[:len(d)-1]
		}
		b.Write(d)
	}
	return b.String()
}

// InRange reports whether v lies in [MinValue, MaxValue].
func (v Value) InRange() bool { return v >= MinValue && v <= MaxValue }

// MarshalJSON writes v as a bare JSON number in decimal form (12.5, never
// "12.5" nor 1.25e1). Values outside [MinValue, MaxValue] are refused.
func (v Value) MarshalJSON() ([]byte, error) {
	if !v.InRange() {
		return nil, ErrValueOutOfRange
	}
	return []byte(v.String()), nil
}

// UnmarshalJSON reads a bare JSON number with the syntax of ParseValue: a
// JSON string ("12.5") is refused, and so is an exponent (1.25e1) or a
// fourth decimal (0.1234, or 0.30000000000000004 from a client's float
// arithmetic). JSON null leaves v unchanged, like the standard library does.
func (v *Value) UnmarshalJSON(data []byte) error {
	s := string(data)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		return ErrInvalidValue.WithMessage("a value is a JSON number, not a string")
	}
	p, err := ParseValue(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}
