package impact_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/coprod/coprod/domain/impact"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	defs := impact.Seed()
	if len(defs) < 18 {
		t.Fatalf("Seed() has %d definitions, want at least 18", len(defs))
	}
	codes := map[string]bool{}
	for i, d := range defs {
		if err := d.Normalize(); err != nil {
			t.Errorf("Seed()[%d] %s: %v", i, d.Code, err)
			continue
		}
		if codes[d.Code] {
			t.Errorf("Seed()[%d]: duplicate code %s", i, d.Code)
		}
		codes[d.Code] = true
		if d.SpecialCategory && d.MinCellSize < impact.SpecialMinCellSize {
			t.Errorf("%s: special category with min cell size %d", d.Code, d.MinCellSize)
		}
		if len(d.SDGTargets)+len(d.BESDomains) == 0 {
			t.Errorf("%s: no SDG target and no BES domain", d.Code)
		}
		// Normalizing twice changes nothing.
		again := d
		if err := again.Normalize(); err != nil || again.MinCellSize != d.MinCellSize || again.Aggregation != d.Aggregation {
			t.Errorf("%s: Normalize is not idempotent: %v", d.Code, err)
		}
	}
	// The library covers every direction, type and the special category.
	seen := map[string]bool{}
	for _, d := range defs {
		seen[string(d.Direction)] = true
		seen[string(d.Type)] = true
		if d.SpecialCategory {
			seen["special"] = true
		}
	}
	for _, k := range []string{"increase", "decrease", "band", "output", "outcome", "impact", "special"} {
		if !seen[k] {
			t.Errorf("Seed() has no %s indicator", k)
		}
	}
	// Each call returns fresh data.
	a, b := impact.Seed(), impact.Seed()
	a[0].SDGTargets[0] = "9.9"
	for _, d := range a {
		if d.BandMin != nil {
			*d.BandMin = 0
		}
	}
	if b[0].SDGTargets[0] == "9.9" {
		t.Error("Seed() shares slices between calls")
	}
	for _, d := range b {
		if d.BandMin != nil && *d.BandMin == 0 {
			t.Error("Seed() shares band pointers between calls")
		}
	}
}

// validDefinition is a valid count indicator; tests break one field at a time.
func validDefinition() impact.Definition {
	return impact.Definition{
		Code:         "elderly_reached",
		Name:         "Anziani raggiunti",
		Definition:   "Persone di 65 anni e più prese in carico nel periodo.",
		Numerator:    "Persone di 65 anni e più prese in carico nel periodo",
		Unit:         impact.UnitPeople,
		Type:         impact.Output,
		Direction:    impact.Increase,
		Frequency:    impact.FrequencyQuarterly,
		DataSource:   "Cartella sociale",
		Verification: "Controllo a campione",
		SDGTargets:   []string{"10.2"},
		BESDomains:   []string{"quality_of_services"},
		IRISMetrics:  []string{"PI4060"},
	}
}

func TestNormalizeDefaults(t *testing.T) {
	t.Parallel()
	d := validDefinition()
	d.Code = "  elderly_reached "
	d.Name = " Anziani raggiunti\u00a0"
	d.SDGTargets = []string{" 4.A ", "10.2"}
	d.BESDomains = []string{"Health"}
	d.IRISMetrics = []string{"pi4060"}
	if err := d.Normalize(); err != nil {
		t.Fatal(err)
	}
	if d.Code != "elderly_reached" || d.Name != "Anziani raggiunti" {
		t.Errorf("not trimmed: %q %q", d.Code, d.Name)
	}
	if d.Aggregation != impact.AggregationSum {
		t.Errorf("aggregation of a count defaults to %q, want sum", d.Aggregation)
	}
	if d.MinCellSize != impact.DefaultMinCellSize {
		t.Errorf("min cell size = %d, want %d", d.MinCellSize, impact.DefaultMinCellSize)
	}
	if !slices.Equal(d.SDGTargets, []string{"4.a", "10.2"}) || !slices.Equal(d.BESDomains, []string{"health"}) || !slices.Equal(d.IRISMetrics, []string{"PI4060"}) {
		t.Errorf("tags not canonical: %v %v %v", d.SDGTargets, d.BESDomains, d.IRISMetrics)
	}

	s := validDefinition()
	s.SpecialCategory = true
	if err := s.Normalize(); err != nil || s.MinCellSize != impact.SpecialMinCellSize {
		t.Errorf("special category: min cell size %d, %v; want %d", s.MinCellSize, err, impact.SpecialMinCellSize)
	}
	s = validDefinition()
	s.SpecialCategory, s.MinCellSize = true, 20
	if err := s.Normalize(); err != nil || s.MinCellSize != 20 {
		t.Errorf("explicit min cell size: %d, %v", s.MinCellSize, err)
	}

	// Units that do not add up need an explicit aggregation.
	p := validDefinition()
	p.Unit, p.Denominator = impact.UnitPercent, "Persone segnalate"
	checkErr(t, "percent without aggregation", p.Normalize(), "invalid_aggregation", "aggregation")
	p.Aggregation = impact.AggregationMean
	checkErr(t, "percent with mean", p.Normalize(), "", "")

	// On error the definition is left untouched.
	bad := validDefinition()
	bad.Code, bad.Name = "X", "  padded  "
	_ = bad.Normalize()
	if bad.Name != "  padded  " || bad.Aggregation != "" {
		t.Errorf("Normalize changed a definition it refused: %+v", bad)
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("à", n) }
	tags := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name        string
		edit        func(*impact.Definition)
		code, field string
	}{
		{"code empty", func(d *impact.Definition) { d.Code = "" }, "invalid_indicator_code", "code"},
		{"code one char", func(d *impact.Definition) { d.Code = "a" }, "invalid_indicator_code", "code"},
		{"code 61 chars", func(d *impact.Definition) { d.Code = strings.Repeat("a", 61) }, "invalid_indicator_code", "code"},
		{"code upper case", func(d *impact.Definition) { d.Code = "Elderly" }, "invalid_indicator_code", "code"},
		{"code space", func(d *impact.Definition) { d.Code = "a b" }, "invalid_indicator_code", "code"},
		{"code accent", func(d *impact.Definition) { d.Code = "attività" }, "invalid_indicator_code", "code"},
		{"name empty", func(d *impact.Definition) { d.Name = "   " }, "invalid_indicator_name", "name"},
		{"name too long", func(d *impact.Definition) { d.Name = long(201) }, "invalid_indicator_name", "name"},
		{"name two lines", func(d *impact.Definition) { d.Name = "a\nb" }, "invalid_indicator_name", "name"},
		{"name bad utf-8", func(d *impact.Definition) { d.Name = "a\xffb" }, "invalid_indicator_name", "name"},
		{"definition empty", func(d *impact.Definition) { d.Definition = "" }, "invalid_indicator_definition", "definition"},
		{"definition too long", func(d *impact.Definition) { d.Definition = long(4001) }, "invalid_indicator_definition", "definition"},
		{"definition control char", func(d *impact.Definition) { d.Definition = "a\x00b" }, "invalid_indicator_definition", "definition"},
		{"numerator empty", func(d *impact.Definition) { d.Numerator = "" }, "invalid_numerator", "numerator"},
		{"numerator too long", func(d *impact.Definition) { d.Numerator = long(1001) }, "invalid_numerator", "numerator"},
		{"denominator too long", func(d *impact.Definition) { d.Denominator = long(1001) }, "invalid_denominator", "denominator"},
		{"unit empty", func(d *impact.Definition) { d.Unit = "" }, "invalid_unit", "unit"},
		{"unit unknown", func(d *impact.Definition) { d.Unit = "kg" }, "invalid_unit", "unit"},
		{"percent without denominator", func(d *impact.Definition) { d.Unit, d.Aggregation = impact.UnitPercent, "mean" }, "denominator_required", "denominator"},
		{"type empty", func(d *impact.Definition) { d.Type = "" }, "invalid_indicator_type", "type"},
		{"type unknown", func(d *impact.Definition) { d.Type = "input" }, "invalid_indicator_type", "type"},
		{"direction empty", func(d *impact.Definition) { d.Direction = "" }, "invalid_direction", "direction"},
		{"direction unknown", func(d *impact.Definition) { d.Direction = "up" }, "invalid_direction", "direction"},
		{"band min on increase", func(d *impact.Definition) { d.BandMin = ptr(1) }, "band_not_allowed", "bandMin"},
		{"band max on decrease", func(d *impact.Definition) { d.Direction, d.BandMax = impact.Decrease, ptr(1) }, "band_not_allowed", "bandMax"},
		{"band without min", func(d *impact.Definition) { d.Direction, d.BandMax = impact.Band, ptr(1) }, "band_required", "bandMin"},
		{"band without max", func(d *impact.Definition) { d.Direction, d.BandMin = impact.Band, ptr(1) }, "band_required", "bandMax"},
		{"band inverted", func(d *impact.Definition) { d.Direction, d.BandMin, d.BandMax = impact.Band, ptr(5000), ptr(4999) }, "invalid_band", "bandMax"},
		{"band negative people", func(d *impact.Definition) { d.Direction, d.BandMin, d.BandMax = impact.Band, ptr(-1), ptr(4999) }, "invalid_value_for_unit", "bandMin"},
		{"band out of range", func(d *impact.Definition) {
			d.Direction, d.BandMin, d.BandMax = impact.Band, ptr(0), ptr(impact.MaxValue+1)
		}, "value_out_of_range", "bandMax"},
		{"band percent over 100", func(d *impact.Definition) {
			d.Unit, d.Denominator, d.Aggregation = impact.UnitPercent, "x", "mean"
			d.Direction, d.BandMin, d.BandMax = impact.Band, ptr(80000), ptr(100001)
		}, "invalid_value_for_unit", "bandMax"},
		{"aggregation unknown", func(d *impact.Definition) { d.Aggregation = "median" }, "invalid_aggregation", "aggregation"},
		{"sum of percentages", func(d *impact.Definition) { d.Unit, d.Denominator, d.Aggregation = impact.UnitPercent, "x", "sum" }, "aggregation_not_additive", "aggregation"},
		{"sum of scores", func(d *impact.Definition) { d.Unit, d.Aggregation = impact.UnitScore, "sum" }, "aggregation_not_additive", "aggregation"},
		{"days without aggregation", func(d *impact.Definition) { d.Unit = impact.UnitDays }, "invalid_aggregation", "aggregation"},
		{"frequency empty", func(d *impact.Definition) { d.Frequency = "" }, "invalid_frequency", "frequency"},
		{"frequency weekly", func(d *impact.Definition) { d.Frequency = "weekly" }, "invalid_frequency", "frequency"},
		{"data source empty", func(d *impact.Definition) { d.DataSource = " " }, "invalid_data_source", "dataSource"},
		{"data source too long", func(d *impact.Definition) { d.DataSource = long(501) }, "invalid_data_source", "dataSource"},
		{"verification empty", func(d *impact.Definition) { d.Verification = "" }, "invalid_verification", "verification"},
		{"verification too long", func(d *impact.Definition) { d.Verification = long(2001) }, "invalid_verification", "verification"},
		{"sdg goal 18", func(d *impact.Definition) { d.SDGTargets = []string{"1.2", "18.1"} }, "invalid_sdg_target", "sdgTargets[1]"},
		{"sdg goal 0", func(d *impact.Definition) { d.SDGTargets = []string{"0.1"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg no target", func(d *impact.Definition) { d.SDGTargets = []string{"3"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg empty target", func(d *impact.Definition) { d.SDGTargets = []string{"3."} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg leading zero", func(d *impact.Definition) { d.SDGTargets = []string{"03.4"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg target zero", func(d *impact.Definition) { d.SDGTargets = []string{"3.0"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg target 20", func(d *impact.Definition) { d.SDGTargets = []string{"17.20"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg letter e", func(d *impact.Definition) { d.SDGTargets = []string{"3.e"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg indicator, not target", func(d *impact.Definition) { d.SDGTargets = []string{"1.2.1"} }, "invalid_sdg_target", "sdgTargets[0]"},
		{"sdg duplicate", func(d *impact.Definition) { d.SDGTargets = []string{"4.a", "4.A"} }, "duplicate_tag", "sdgTargets[1]"},
		{"sdg too many", func(d *impact.Definition) {
			d.SDGTargets = tags(21, func(i int) string { return "1." + string(rune('1'+i%9)) })
		}, "too_many_tags", "sdgTargets"},
		{"bes unknown", func(d *impact.Definition) { d.BESDomains = []string{"health", "wellbeing"} }, "invalid_bes_domain", "besDomains[1]"},
		{"bes duplicate", func(d *impact.Definition) { d.BESDomains = []string{"health", "health"} }, "duplicate_tag", "besDomains[1]"},
		{"iris three letters", func(d *impact.Definition) { d.IRISMetrics = []string{"PIX406"} }, "invalid_iris_metric", "irisMetrics[0]"},
		{"iris five digits", func(d *impact.Definition) { d.IRISMetrics = []string{"PI40600"} }, "invalid_iris_metric", "irisMetrics[0]"},
		{"iris empty", func(d *impact.Definition) { d.IRISMetrics = []string{""} }, "invalid_iris_metric", "irisMetrics[0]"},
		{"iris duplicate", func(d *impact.Definition) { d.IRISMetrics = []string{"PI4060", "pi4060"} }, "duplicate_tag", "irisMetrics[1]"},
		{"iris too many", func(d *impact.Definition) {
			d.IRISMetrics = tags(21, func(i int) string { return "PI40" + string(rune('0'+i/10)) + string(rune('0'+i%10)) })
		}, "too_many_tags", "irisMetrics"},
		{"min cell size 4", func(d *impact.Definition) { d.MinCellSize = 4 }, "invalid_min_cell_size", "minCellSize"},
		{"min cell size negative", func(d *impact.Definition) { d.MinCellSize = -1 }, "invalid_min_cell_size", "minCellSize"},
		{"min cell size too big", func(d *impact.Definition) { d.MinCellSize = 101 }, "invalid_min_cell_size", "minCellSize"},
		{"special with 5", func(d *impact.Definition) { d.SpecialCategory, d.MinCellSize = true, 5 }, "invalid_min_cell_size", "minCellSize"},
		{"special with 9", func(d *impact.Definition) { d.SpecialCategory, d.MinCellSize = true, 9 }, "invalid_min_cell_size", "minCellSize"},
	}
	for _, tt := range tests {
		d := validDefinition()
		tt.edit(&d)
		checkErr(t, tt.name, d.Normalize(), tt.code, tt.field)
	}
}

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*impact.Definition)
	}{
		{"code two chars", func(d *impact.Definition) { d.Code = "a1" }},
		{"code 60 chars", func(d *impact.Definition) { d.Code = strings.Repeat("a-_0", 15) }},
		{"no tags", func(d *impact.Definition) { d.SDGTargets, d.BESDomains, d.IRISMetrics = nil, nil, nil }},
		{"sdg extremes", func(d *impact.Definition) { d.SDGTargets = []string{"1.1", "17.19", "16.10", "3.d", "10.a"} }},
		{"all BES domains", func(d *impact.Definition) { d.BESDomains = slices.Clone(impact.BESDomains) }},
		{"band", func(d *impact.Definition) { d.Direction, d.BandMin, d.BandMax = impact.Band, ptr(0), ptr(0) }},
		{"eur negative band", func(d *impact.Definition) {
			d.Unit, d.Direction, d.BandMin, d.BandMax = impact.UnitEUR, impact.Band, ptr(-5000), ptr(5000)
		}},
		{"multi-line definition", func(d *impact.Definition) { d.Definition = "Riga uno.\r\nRiga\tdue." }},
		{"every aggregation for days", func(d *impact.Definition) { d.Unit, d.Aggregation = impact.UnitDays, "min" }},
		{"min cell size 100", func(d *impact.Definition) { d.MinCellSize = 100 }},
		{"decrease", func(d *impact.Definition) { d.Direction = impact.Decrease }},
		{"impact type", func(d *impact.Definition) { d.Type = impact.Impact }},
	}
	for _, tt := range tests {
		d := validDefinition()
		tt.edit(&d)
		checkErr(t, tt.name, d.Normalize(), "", "")
	}
}
