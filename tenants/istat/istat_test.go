package istat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const header = "istat_code,name,province_code,province_abbr,region_code,region_name,population\n"

func TestEmbedded(t *testing.T) {
	t.Parallel()
	ds, err := Parse(Open())
	if err != nil {
		t.Fatalf("Parse(embedded): %v", err)
	}
	if got := len(ds.Regions); got != 20 {
		t.Errorf("regions = %d, want 20", got)
	}
	if got := len(ds.Municipalities); got < 7900 {
		t.Errorf("municipalities = %d, want >= 7900", got)
	}
	for i, r := range ds.Regions {
		if !ValidRegionCode(r.Code) || r.Name == "" {
			t.Errorf("bad region %+v", r)
		}
		if i > 0 && ds.Regions[i-1].Code >= r.Code {
			t.Errorf("regions not sorted at %d: %s >= %s", i, ds.Regions[i-1].Code, r.Code)
		}
	}
	regionName := map[string]string{}
	for _, r := range ds.Regions {
		regionName[r.Code] = r.Name
	}
	byCode := map[string]Municipality{}
	perRegion := map[string]int{}
	total := 0
	for i, m := range ds.Municipalities {
		byCode[m.Code] = m
		perRegion[m.RegionCode]++
		total += m.Population
		if i > 0 && ds.Municipalities[i-1].Code >= m.Code {
			t.Errorf("file not sorted by istat_code at row %d", i)
		}
	}

	tests := []struct {
		code, name, prov, abbr, region, regionName string
	}{
		{"015146", "Milano", "215", "MI", "03", "Lombardia"},
		{"058091", "Roma", "258", "RM", "12", "Lazio"},
		{"001272", "Torino", "201", "TO", "01", "Piemonte"},
		{"021008", "Bolzano/Bozen", "021", "BZ", "04", "Trentino-Alto Adige/Südtirol"},
		{"007003", "Aosta", "007", "AO", "02", "Valle d'Aosta/Vallée d'Aoste"},
		{"032001", "Duino Aurisina-Devin Nabrežina", "032", "TS", "06", "Friuli-Venezia Giulia"},
		{"092009", "Cagliari", "292", "CA", "20", "Sardegna"},
	}
	for _, tc := range tests {
		m, ok := byCode[tc.code]
		if !ok {
			t.Errorf("%s (%s) missing", tc.code, tc.name)
			continue
		}
		if m.Name != tc.name || m.ProvinceCode != tc.prov || m.ProvinceAbbr != tc.abbr || m.RegionCode != tc.region {
			t.Errorf("%s = %+v, want name %q province %s/%s region %s", tc.code, m, tc.name, tc.prov, tc.abbr, tc.region)
		}
		if regionName[m.RegionCode] != tc.regionName {
			t.Errorf("region %s name = %q, want %q", m.RegionCode, regionName[m.RegionCode], tc.regionName)
		}
		if m.Population <= 0 {
			t.Errorf("%s population = %d", tc.code, m.Population)
		}
	}
	if got := byCode["015146"].Population; got != 1242123 {
		t.Errorf("Milano population = %d, want 1242123 (legal population, census 2011)", got)
	}
	if got := perRegion["03"]; got <= 1400 {
		t.Errorf("Lombardia has %d comuni, want > 1400", got)
	}
	// Italy's legal population at the 2011 census.
	if total != 59433744 {
		t.Errorf("total population = %d, want 59433744", total)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const (
		milano = "015146,Milano,215,MI,03,Lombardia,1242123\n"
		roma   = "058091,Roma,258,RM,12,Lazio,2617175\n"
	)
	tests := []struct {
		name      string
		in        string
		line      int
		field     string
		errSubstr string
	}{
		{"bad code letters", header + milano + "05809X,Roma,258,RM,12,Lazio,1\n", 3, "istat_code", "6 digits"},
		{"bad code short", header + "15146,Milano,215,MI,03,Lombardia,1\n", 2, "istat_code", "6 digits"},
		{"bad code zeros", header + "000000,Nowhere,215,MI,03,Lombardia,1\n", 2, "istat_code", "6 digits"},
		{"duplicate", header + milano + roma + "015146,Milano bis,215,MI,03,Lombardia,1\n", 4, "istat_code", "first on line 2"},
		{"empty name", header + milano + "058091,  ,258,RM,12,Lazio,1\n", 3, "name", "empty"},
		{"control char in name", header + "058091,Ro\x01ma,258,RM,12,Lazio,1\n", 2, "name", "control"},
		{"invalid utf8 name", header + "058091,Ro\xe0ma,258,RM,12,Lazio,1\n", 2, "name", "UTF-8"},
		{"negative population", header + milano + "058091,Roma,258,RM,12,Lazio,-5\n", 3, "population", ">= 0"},
		{"non-numeric population", header + "058091,Roma,258,RM,12,Lazio,2.617.175\n", 2, "population", "integer"},
		{"empty population", header + "058091,Roma,258,RM,12,Lazio,\n", 2, "population", "integer"},
		{"huge population", header + "058091,Roma,258,RM,12,Lazio,99999999999999999999\n", 2, "population", "range"},
		{"ragged row short", header + milano + "058091,Roma,258,RM,12,Lazio\n", 3, "", "fields"},
		{"ragged row long", header + milano + roma + "001272,Torino,201,TO,01,Piemonte,1,x\n", 4, "", "fields"},
		{"bad quoting", header + "058091,Ro\"ma,258,RM,12,Lazio,1\n", 2, "", "quote"},
		{"bad province code", header + "058091,Roma,58,RM,12,Lazio,1\n", 2, "province_code", "3 digits"},
		{"bad province abbr", header + "058091,Roma,258,rm,12,Lazio,1\n", 2, "province_abbr", "uppercase"},
		{"region 21", header + "058091,Roma,258,RM,21,Lazio,1\n", 2, "region_code", "01-20"},
		{"region 00", header + "058091,Roma,258,RM,00,Lazio,1\n", 2, "region_code", "01-20"},
		{"region 3", header + "058091,Roma,258,RM,3,Lazio,1\n", 2, "region_code", "01-20"},
		{"empty region name", header + "058091,Roma,258,RM,12,,1\n", 2, "region_name", "empty"},
		{"inconsistent region name", header + milano + roma + "017029,Brescia,017,BS,03,Lombardy,1\n", 4, "region_name", "on line 2"},
		{"wrong header unknown", strings.Replace(header, "population", "popolazione", 1) + milano, 1, "header", `unknown column "popolazione"`},
		{"wrong header missing", strings.Replace(header, ",population", "", 1) + milano, 1, "header", `missing column "population"`},
		{"wrong header order", "name,istat_code,province_code,province_abbr,region_code,region_name,population\n" + milano, 1, "header", `column 1 is "name"`},
		{"wrong header duplicate", strings.TrimSuffix(header, "\n") + ",name\n" + milano, 1, "header", `duplicate column "name"`},
		{"wrong header case", strings.ToUpper(header) + milano, 1, "header", "unknown column"},
		{"empty input", "", 1, "header", "empty"},
		{"only BOM", "\uFEFF", 1, "header", "empty"},
		{"header only", header, 2, "", "no data rows"},
		// A quoted newline is a control character in a name.
		{"multi-line quoted name", header + "015146,\"Mi\nlano\",215,MI,03,Lombardia,1\n", 2, "name", "control"},
		// Physical lines are counted: the row after a multi-line record starts on line 4.
		// (The trailing quoted newline is trimmed away, so that record is valid.)
		{"line after multi-line record", header + "015146,\"Milano\n\",215,MI,03,Lombardia,1\n" + "058091,Roma,258,RM,12,Lazio,x\n", 4, "population", "integer"},
		// Blank lines are skipped but still counted.
		{"blank lines", header + "\n\n" + milano + "\n058091,Roma,258,RM,12,Lazio,-1\n", 6, "population", ">= 0"},
		// CRLF line endings are counted the same way.
		{"crlf", strings.ReplaceAll(header+milano+"058091,,258,RM,12,Lazio,1\n", "\n", "\r\n"), 3, "name", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, err := Parse(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d rows, want error", len(ds.Municipalities))
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LineError", err, err)
			}
			if le.Line != tc.line || le.Field != tc.field {
				t.Errorf("got line %d field %q (%v), want line %d field %q", le.Line, le.Field, err, tc.line, tc.field)
			}
			if !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("error %q does not mention %q", err, tc.errSubstr)
			}
		})
	}
}

func TestParseOK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		regions []Region
		munis   []Municipality
	}{
		{
			name:    "BOM accepted",
			in:      "\uFEFF" + header + "015146,Milano,215,MI,03,Lombardia,1242123\n",
			regions: []Region{{"03", "Lombardia"}},
			munis:   []Municipality{{"015146", "Milano", "215", "MI", "03", 1242123}},
		},
		{
			name: "CRLF, quoting, trimming, unsorted input, regions sorted",
			in: strings.ReplaceAll(header, "\n", "\r\n") +
				"058091,\" Roma \",258,RM,12,Lazio,0\r\n" +
				"021008,\"Bolzano/Bozen\",021,BZ,04,\"Trentino-Alto Adige/Südtirol\",102575\r\n" +
				"007003,\"Aosta, \"\"città\"\"\",007,AO,02,Valle d'Aosta/Vallée d'Aoste,34102", // no final newline
			regions: []Region{{"02", "Valle d'Aosta/Vallée d'Aoste"}, {"04", "Trentino-Alto Adige/Südtirol"}, {"12", "Lazio"}},
			munis: []Municipality{
				{"058091", "Roma", "258", "RM", "12", 0},
				{"021008", "Bolzano/Bozen", "021", "BZ", "04", 102575},
				{"007003", `Aosta, "città"`, "007", "AO", "02", 34102},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, err := Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(ds.Regions, tc.regions) {
				t.Errorf("regions = %+v, want %+v", ds.Regions, tc.regions)
			}
			if !equal(ds.Municipalities, tc.munis) {
				t.Errorf("municipalities = %+v, want %+v", ds.Municipalities, tc.munis)
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLineErrorFormat(t *testing.T) {
	t.Parallel()
	inner := errors.New("must be 6 digits")
	tests := []struct {
		err  *LineError
		want string
	}{
		{&LineError{Line: 42, Field: "istat_code", Err: inner}, "line 42: istat_code: must be 6 digits"},
		{&LineError{Line: 7, Err: errors.New("want 7 fields")}, "line 7: want 7 fields"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if !errors.Is(tests[0].err, inner) {
		t.Error("LineError does not unwrap")
	}
}

func TestValidCodes(t *testing.T) {
	t.Parallel()
	muni := []struct {
		in   string
		want bool
	}{
		{"015146", true}, {"001001", true}, {"999999", true},
		{"000000", false}, {"15146", false}, {"0151460", false}, {"01514a", false},
		{"", false}, {" 15146", false}, {"０15146", false}, {"-15146", false},
	}
	for _, tc := range muni {
		if got := ValidMunicipalityCode(tc.in); got != tc.want {
			t.Errorf("ValidMunicipalityCode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	region := []struct {
		in   string
		want bool
	}{
		{"01", true}, {"09", true}, {"10", true}, {"19", true}, {"20", true},
		{"00", false}, {"21", false}, {"99", false}, {"1", false}, {"001", false}, {"", false}, {"1a", false}, {"a1", false},
	}
	for _, tc := range region {
		if got := ValidRegionCode(tc.in); got != tc.want {
			t.Errorf("ValidRegionCode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// endless yields the same row forever: Parse must stop at its limits rather
// than read it all.
type endless struct {
	row []byte
	off int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.row[e.off:])
		n += c
		e.off = (e.off + c) % len(e.row)
	}
	return n, nil
}

func TestLimits(t *testing.T) {
	t.Parallel()
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		// One endless quoted field: never a complete record, so only the
		// byte limit can stop it.
		r := io.MultiReader(strings.NewReader(header+"015146,\""), &endless{row: []byte("abcdefgh\n")})
		_, err := Parse(r)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("rows", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		b.WriteString(header)
		for i := 1; i <= MaxRows+1; i++ {
			b.WriteString(fmt.Sprintf("%06d,X,001,TO,01,Piemonte,1\n", i))
		}
		_, err := Parse(&b)
		var le *LineError
		if !errors.As(err, &le) || !errors.Is(err, ErrTooManyRows) || le.Line != MaxRows+2 {
			t.Fatalf("err = %v, want ErrTooManyRows on line %d", err, MaxRows+2)
		}
	})
	t.Run("exactly MaxRows ok", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		b.WriteString(header)
		for i := 1; i <= MaxRows; i++ {
			b.WriteString(fmt.Sprintf("%06d,X,001,TO,01,Piemonte,1\n", i))
		}
		ds, err := Parse(&b)
		if err != nil || len(ds.Municipalities) != MaxRows {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "015146,Milano,215,MI,03,Lombardia,1242123\n"))
	f.Add([]byte("\uFEFF" + header + "058091,\"Roma\",258,RM,12,Lazio,0\r\n021008,Bolzano/Bozen,021,BZ,04,Trentino-Alto Adige/Südtirol,102575"))
	f.Add([]byte(header + "015146,Milano,215,MI,03,Lombardia,1\n015146,Milano,215,MI,03,Lombardia,1\n"))
	f.Add([]byte(header + "015146,\"Mi\nlano\",215,MI,03,Lombardia,-1\n"))
	f.Add([]byte("istat_code,name\n1,2\n"))
	f.Add(Embedded[:2000])
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := Parse(bytes.NewReader(data))
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && le.Line < 1 {
				t.Fatalf("line %d < 1: %v", le.Line, err)
			}
			return
		}
		if len(ds.Municipalities) == 0 {
			t.Fatal("success with no municipalities")
		}
		seen := map[string]bool{}
		names := map[string]string{}
		for _, r := range ds.Regions {
			if !ValidRegionCode(r.Code) || r.Name == "" {
				t.Fatalf("bad region %+v", r)
			}
			names[r.Code] = r.Name
		}
		for _, m := range ds.Municipalities {
			if !ValidMunicipalityCode(m.Code) || !ValidRegionCode(m.RegionCode) || !validProvinceCode(m.ProvinceCode) {
				t.Fatalf("invalid code in %+v", m)
			}
			if seen[m.Code] {
				t.Fatalf("duplicate %s accepted", m.Code)
			}
			seen[m.Code] = true
			if _, ok := names[m.RegionCode]; !ok {
				t.Fatalf("region %s not in Regions", m.RegionCode)
			}
			if m.Name == "" || strings.TrimSpace(m.Name) != m.Name || m.Population < 0 {
				t.Fatalf("bad municipality %+v", m)
			}
			// What PostgreSQL's text takes (no NUL) and the registry shows.
			if !utf8.ValidString(m.Name) || strings.ContainsFunc(m.Name+names[m.RegionCode], unicode.IsControl) {
				t.Fatalf("name with a control character or not UTF-8 accepted: %q", m.Name)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(Embedded)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(Embedded)); err != nil {
			b.Fatal(err)
		}
	}
}
