package impact

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/coprod/coprod/domain"
)

// Type of an indicator, along the results chain.
type Type string

// Types.
const (
	Output  Type = "output"  // what the service delivers (people reached, hours)
	Outcome Type = "outcome" // the change in the people served (employed, housed)
	Impact  Type = "impact"  // the change net of what would have happened anyway (visits avoided)
)

// Direction says which way an indicator improves.
type Direction string

// Directions.
const (
	Increase Direction = "increase" // higher is better
	Decrease Direction = "decrease" // lower is better
	Band     Direction = "band"     // within [BandMin, BandMax] is right
)

// Units. Percent is a share from 0 to 100; people, households, count,
// days and hours are never negative; eur and score may be.
const (
	UnitPeople     = "people"
	UnitHouseholds = "households"
	UnitCount      = "count" // events, attendances, items
	UnitPercent    = "percent"
	UnitDays       = "days"
	UnitHours      = "hours"
	UnitEUR        = "eur"
	UnitScore      = "score" // a score on a scale (UCLA loneliness, satisfaction 1-5)
)

// Units lists the units an indicator may have.
var Units = []string{UnitPeople, UnitHouseholds, UnitCount, UnitPercent, UnitDays, UnitHours, UnitEUR, UnitScore}

// Aggregations: how the values of several periods combine into one of a
// longer period.
const (
	AggregationSum  = "sum"
	AggregationMean = "mean"
	AggregationLast = "last"
	AggregationMax  = "max"
	AggregationMin  = "min"
)

// Aggregations lists the aggregation rules.
var Aggregations = []string{AggregationSum, AggregationMean, AggregationLast, AggregationMax, AggregationMin}

// BESDomains are the 12 domains of ISTAT's BES (Benessere equo e
// sostenibile) framework: salute; istruzione e formazione; lavoro e
// conciliazione dei tempi di vita; benessere economico; relazioni sociali;
// politica e istituzioni; sicurezza; benessere soggettivo; paesaggio e
// patrimonio culturale; ambiente; innovazione, ricerca e creatività; qualità
// dei servizi.
var BESDomains = []string{
	"health", "education", "work_life_balance", "economic_wellbeing",
	"social_relationships", "politics_institutions", "safety", "subjective_wellbeing",
	"landscape_heritage", "environment", "innovation", "quality_of_services",
}

// Limits and defaults of a definition.
const (
	MinCodeLen            = 2
	MaxCodeLen            = 60
	MaxNameLen            = 200  // characters
	MaxDefinitionLen      = 4000 // characters
	MaxCalculationLen     = 1000 // characters of Numerator and of Denominator
	MaxSourceLen          = 500  // characters of DataSource and of Baseline.Source
	MaxVerificationLen    = 2000 // characters
	MaxTags               = 20   // entries in each of SDGTargets, BESDomains, IRISMetrics
	DefaultMinCellSize    = 5    // the disclosure threshold for counts of people
	SpecialMinCellSize    = 10   // the least threshold when SpecialCategory is set
	MaxMinCellSize        = 100
	maxSDGGoal            = 17
	maxSDGNumberedTargets = 19 // 17.19 is the highest numbered target
)

// Definition is an indicator of a tenant's library, in the spirit of the
// INDIGO IndicatorDefinition. Values of the indicator are Values in the
// indicator's Unit.
type Definition struct {
	Code       string // a-z, 0-9, _ and -, 2-60 bytes; unique in the library
	Name       string
	Definition string // what is counted, for whom, over which span

	Numerator   string // how the value is calculated
	Denominator string // empty for counts; required for percent

	Unit      string // one of Units
	Type      Type
	Direction Direction

	BandMin, BandMax *Value // both for Direction band, neither otherwise

	Aggregation string // one of Aggregations; how periods combine
	Frequency   string // one of Frequencies; how often it is measured

	DataSource   string // where the data comes from
	Verification string // how the municipality verifies it

	SDGTargets  []string // UN SDG targets, "1.2", "3.4", "4.a"
	BESDomains  []string // ISTAT BES domains, see BESDomains
	IRISMetrics []string // IRIS+ metric ids, "PI4060": two letters and four digits

	SpecialCategory bool // concerns GDPR art. 9 data (health, disability, addiction, migration, violence)
	MinCellSize     int  // counts of people below it are suppressed in shared reports
}

// Definition errors. Each is returned with the offending field named, in
// camelCase ("code", "bandMin", "sdgTargets[1]").
var (
	ErrInvalidCode           = domain.Errorf(domain.KindInvalid, "invalid_indicator_code", "an indicator code is %d-%d characters among a-z, 0-9, _ and -", MinCodeLen, MaxCodeLen)
	ErrInvalidName           = domain.Errorf(domain.KindInvalid, "invalid_indicator_name", "an indicator name is one line of 1-%d characters", MaxNameLen)
	ErrInvalidDefinition     = domain.Errorf(domain.KindInvalid, "invalid_indicator_definition", "an indicator definition is 1-%d characters", MaxDefinitionLen)
	ErrInvalidNumerator      = domain.Errorf(domain.KindInvalid, "invalid_numerator", "the numerator is 1-%d characters", MaxCalculationLen)
	ErrInvalidDenominator    = domain.Errorf(domain.KindInvalid, "invalid_denominator", "the denominator is at most %d characters", MaxCalculationLen)
	ErrDenominatorRequired   = domain.Errorf(domain.KindInvalid, "denominator_required", "a percentage needs a denominator")
	ErrInvalidUnit           = domain.Errorf(domain.KindInvalid, "invalid_unit", "the unit is one of %s", strings.Join(Units, ", "))
	ErrInvalidType           = domain.Errorf(domain.KindInvalid, "invalid_indicator_type", "the indicator type is output, outcome or impact")
	ErrInvalidDirection      = domain.Errorf(domain.KindInvalid, "invalid_direction", "the direction is increase, decrease or band")
	ErrBandRequired          = domain.Errorf(domain.KindInvalid, "band_required", "an indicator with direction band needs both bandMin and bandMax")
	ErrBandNotAllowed        = domain.Errorf(domain.KindInvalid, "band_not_allowed", "only an indicator with direction band has bandMin and bandMax")
	ErrInvalidBand           = domain.Errorf(domain.KindInvalid, "invalid_band", "bandMin is at most bandMax")
	ErrInvalidAggregation    = domain.Errorf(domain.KindInvalid, "invalid_aggregation", "the aggregation is one of %s", strings.Join(Aggregations, ", "))
	ErrAggregationNotAllowed = domain.Errorf(domain.KindInvalid, "aggregation_not_additive", "percentages and scores cannot be summed across periods")
	ErrInvalidFrequency      = domain.Errorf(domain.KindInvalid, "invalid_frequency", "the frequency is monthly, quarterly, semiannual or annual")
	ErrInvalidDataSource     = domain.Errorf(domain.KindInvalid, "invalid_data_source", "the data source is 1-%d characters", MaxSourceLen)
	ErrInvalidVerification   = domain.Errorf(domain.KindInvalid, "invalid_verification", "the verification method is 1-%d characters", MaxVerificationLen)
	ErrTooManyTags           = domain.Errorf(domain.KindInvalid, "too_many_tags", "at most %d SDG targets, BES domains and IRIS+ metrics each", MaxTags)
	ErrDuplicateTag          = domain.Errorf(domain.KindInvalid, "duplicate_tag", "a tag appears once")
	ErrInvalidSDGTarget      = domain.Errorf(domain.KindInvalid, "invalid_sdg_target", `an SDG target is goal.target, like "1.2", "10.2" or "4.a" (goals 1-17)`)
	ErrInvalidBESDomain      = domain.Errorf(domain.KindInvalid, "invalid_bes_domain", "a BES domain is one of %s", strings.Join(BESDomains, ", "))
	ErrInvalidIRISMetric     = domain.Errorf(domain.KindInvalid, "invalid_iris_metric", `an IRIS+ metric id is two letters and four digits, like "PI4060"`)
	ErrInvalidMinCellSize    = domain.Errorf(domain.KindInvalid, "invalid_min_cell_size", "the minimum cell size is %d-%d, and at least %d for special-category data", DefaultMinCellSize, MaxMinCellSize, SpecialMinCellSize)
	ErrValueForUnit          = domain.Errorf(domain.KindInvalid, "invalid_value_for_unit", "a percentage is from 0 to 100; people, households, counts, days and hours are not negative")
)

// Normalize trims the text fields, upper-cases IRIS+ ids, lower-cases SDG
// targets and BES domains, fills the defaults and validates the definition.
// Defaults: Aggregation is sum for additive units (people, households,
// count, hours, eur) and required otherwise; MinCellSize is
// DefaultMinCellSize, or SpecialMinCellSize when SpecialCategory is set.
// On error d is left unchanged; the error names the field in camelCase.
func (d *Definition) Normalize() error {
	n := *d
	n.Code = strings.TrimSpace(n.Code)
	n.Name = strings.TrimSpace(n.Name)
	n.Definition = strings.TrimSpace(n.Definition)
	n.Numerator = strings.TrimSpace(n.Numerator)
	n.Denominator = strings.TrimSpace(n.Denominator)
	n.Unit = strings.TrimSpace(n.Unit)
	n.Aggregation = strings.TrimSpace(n.Aggregation)
	n.Frequency = strings.TrimSpace(n.Frequency)
	n.DataSource = strings.TrimSpace(n.DataSource)
	n.Verification = strings.TrimSpace(n.Verification)
	n.SDGTargets = canonical(n.SDGTargets, strings.ToLower)
	n.BESDomains = canonical(n.BESDomains, strings.ToLower)
	n.IRISMetrics = canonical(n.IRISMetrics, strings.ToUpper)

	if !validCode(n.Code) {
		return ErrInvalidCode.WithField("code")
	}
	if !validText(n.Name, 1, MaxNameLen) || strings.ContainsAny(n.Name, "\r\n\t") {
		return ErrInvalidName.WithField("name")
	}
	if !validText(n.Definition, 1, MaxDefinitionLen) {
		return ErrInvalidDefinition.WithField("definition")
	}
	if !validText(n.Numerator, 1, MaxCalculationLen) {
		return ErrInvalidNumerator.WithField("numerator")
	}
	if !validText(n.Denominator, 0, MaxCalculationLen) {
		return ErrInvalidDenominator.WithField("denominator")
	}
	if !slices.Contains(Units, n.Unit) {
		return ErrInvalidUnit.WithField("unit")
	}
	if n.Unit == UnitPercent && n.Denominator == "" {
		return ErrDenominatorRequired.WithField("denominator")
	}
	switch n.Type {
	case Output, Outcome, Impact:
	default:
		return ErrInvalidType.WithField("type")
	}
	if err := n.checkBand(); err != nil {
		return err
	}
	if n.Aggregation == "" && additive(n.Unit) {
		n.Aggregation = AggregationSum
	}
	if !slices.Contains(Aggregations, n.Aggregation) {
		return ErrInvalidAggregation.WithField("aggregation")
	}
	if n.Aggregation == AggregationSum && (n.Unit == UnitPercent || n.Unit == UnitScore) {
		return ErrAggregationNotAllowed.WithField("aggregation")
	}
	if !validFrequency(n.Frequency) {
		return ErrInvalidFrequency.WithField("frequency")
	}
	if !validText(n.DataSource, 1, MaxSourceLen) {
		return ErrInvalidDataSource.WithField("dataSource")
	}
	if !validText(n.Verification, 1, MaxVerificationLen) {
		return ErrInvalidVerification.WithField("verification")
	}
	if err := checkTags("sdgTargets", n.SDGTargets, validSDGTarget, ErrInvalidSDGTarget); err != nil {
		return err
	}
	if err := checkTags("besDomains", n.BESDomains, func(s string) bool { return slices.Contains(BESDomains, s) }, ErrInvalidBESDomain); err != nil {
		return err
	}
	if err := checkTags("irisMetrics", n.IRISMetrics, validIRISMetric, ErrInvalidIRISMetric); err != nil {
		return err
	}
	least := DefaultMinCellSize
	if n.SpecialCategory {
		least = SpecialMinCellSize
	}
	if n.MinCellSize == 0 {
		n.MinCellSize = least
	}
	if n.MinCellSize < least || n.MinCellSize > MaxMinCellSize {
		return ErrInvalidMinCellSize.WithField("minCellSize")
	}
	*d = n
	return nil
}

func (d *Definition) checkBand() error {
	switch d.Direction {
	case Increase, Decrease:
		if d.BandMin != nil {
			return ErrBandNotAllowed.WithField("bandMin")
		}
		if d.BandMax != nil {
			return ErrBandNotAllowed.WithField("bandMax")
		}
	case Band:
		if d.BandMin == nil {
			return ErrBandRequired.WithField("bandMin")
		}
		if d.BandMax == nil {
			return ErrBandRequired.WithField("bandMax")
		}
		if err := checkValue(d.Unit, *d.BandMin); err != nil {
			return err.WithField("bandMin")
		}
		if err := checkValue(d.Unit, *d.BandMax); err != nil {
			return err.WithField("bandMax")
		}
		if *d.BandMin > *d.BandMax {
			return ErrInvalidBand.WithField("bandMax")
		}
	default:
		return ErrInvalidDirection.WithField("direction")
	}
	return nil
}

// additive reports whether values of the unit add up across periods.
func additive(unit string) bool {
	switch unit {
	case UnitPeople, UnitHouseholds, UnitCount, UnitHours, UnitEUR:
		return true
	}
	return false
}

// checkValue checks v against the Value range and the unit's own range.
func checkValue(unit string, v Value) *domain.Error {
	if !v.InRange() {
		return ErrValueOutOfRange
	}
	switch unit {
	case UnitPercent:
		if v < 0 || v > 100*Scale {
			return ErrValueForUnit.WithMessage("a percentage is from 0 to 100, not %s", v)
		}
	case UnitPeople, UnitHouseholds, UnitCount, UnitDays, UnitHours:
		if v < 0 {
			return ErrValueForUnit.WithMessage("a value in %s is not negative", unit)
		}
	}
	return nil
}

// canonical trims each tag and applies f; it keeps nil as nil.
func canonical(tags []string, f func(string) string) []string {
	if tags == nil {
		return nil
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = f(strings.TrimSpace(t))
	}
	return out
}

func checkTags(field string, tags []string, valid func(string) bool, errInvalid *domain.Error) error {
	if len(tags) > MaxTags {
		return ErrTooManyTags.WithField(field)
	}
	for i, t := range tags {
		if !valid(t) {
			return errInvalid.WithMessage("%s: %q", errInvalid.Message, t).WithField(fmt.Sprintf("%s[%d]", field, i))
		}
		if slices.Contains(tags[:i], t) {
			return ErrDuplicateTag.WithMessage("%q appears more than once", t).WithField(fmt.Sprintf("%s[%d]", field, i))
		}
	}
	return nil
}

// ValidSDGTarget reports whether s names an SDG target ("3.4", "10.a").
func ValidSDGTarget(s string) bool { return validSDGTarget(s) }

// validSDGTarget accepts goal.target with goal 1-17 and target either a
// number 1-19 without leading zeros or a letter a-d (the means of
// implementation targets, "3.d", "10.c").
func validSDGTarget(s string) bool {
	goal, target, ok := strings.Cut(s, ".")
	if !ok || !positive(goal, maxSDGGoal) {
		return false
	}
	if len(target) == 1 && target[0] >= 'a' && target[0] <= 'd' {
		return true
	}
	return positive(target, maxSDGNumberedTargets)
}

// positive reports whether s is a number from 1 to max without leading zeros.
func positive(s string, max int) bool {
	if !digits(s) || s[0] == '0' || len(s) > 2 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n <= max
}

// validIRISMetric accepts two upper-case letters and four digits, "PI4060".
func validIRISMetric(s string) bool {
	return len(s) == 6 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && digits(s[2:])
}

// ValidCode reports whether s is a well-formed indicator code.
func ValidCode(s string) bool { return validCode(s) }

func validCode(s string) bool {
	if len(s) < MinCodeLen || len(s) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' && b != '-' {
			return false
		}
	}
	return true
}

// validText reports whether s is valid UTF-8 of min..max characters with
// no control characters other than line breaks and tabs.
func validText(s string, min, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
