// Package istat parses the list of Italian regions and municipalities
// (comuni) derived from ISTAT's "Elenco dei comuni italiani", used to onboard
// them as tenants. The data as of 2020-01-01 is embedded (see SOURCE.md for
// provenance and licence: "Fonte: ISTAT", CC BY 3.0 IT).
//
// The input is UTF-8 CSV (RFC 4180 quoting, ',' separator, LF or CRLF line
// ends, optional BOM) with exactly the header
//
//	istat_code,name,province_code,province_abbr,region_code,region_name,population
//
// Only the standard library is used.
package istat

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Embedded is comuni.csv as shipped in the repository (7,904 comuni of
// 2020-01-01, 20 regions). Treat it as read-only.
//
//go:embed comuni.csv
var Embedded []byte

// Open returns a reader over the embedded comuni.csv.
func Open() io.Reader { return bytes.NewReader(Embedded) }

// Columns is the exact header Parse expects, in order.
var Columns = []string{
	"istat_code", "name", "province_code", "province_abbr",
	"region_code", "region_name", "population",
}

const (
	colCode = iota
	colName
	colProvinceCode
	colProvinceAbbr
	colRegionCode
	colRegionName
	colPopulation
	numColumns
)

// Input limits, so that a hostile file cannot exhaust memory.
const (
	MaxBytes = 64 << 20 // 64 MiB of input
	MaxRows  = 100_000  // data rows, header excluded
)

var (
	// ErrTooLarge is returned (wrapped) when the input exceeds MaxBytes.
	ErrTooLarge = errors.New("input exceeds 64 MiB")
	// ErrTooManyRows is returned (wrapped in a *LineError) when the input
	// has more than MaxRows data rows.
	ErrTooManyRows = errors.New("more than 100000 rows")
)

// Region is an Italian region. Code is ISTAT's 2-digit code ("01".."20").
type Region struct{ Code, Name string }

// Municipality is a comune.
type Municipality struct {
	Code         string // 6-digit ISTAT code ("codice comune alfanumerico"), e.g. "015146"
	Name         string // ISTAT denomination, bilingual where official, e.g. "Bolzano/Bozen"
	ProvinceCode string // 3-digit code of the province / metropolitan city / UTS, e.g. "215"
	ProvinceAbbr string // car-plate sigla, e.g. "MI"
	RegionCode   string // 2-digit region code, e.g. "03"
	Population   int    // legal population (see SOURCE.md for the reference date)
}

// Dataset is the parsed file. Municipalities are in input order; Regions are
// derived from the rows and sorted by code.
type Dataset struct {
	Regions        []Region
	Municipalities []Municipality
}

// LineError reports the first problem found in the input. Line is 1-based and
// counts physical lines (the header is line 1). Field is the column name, or
// "header" for header problems, or "" when the whole row is at fault (for
// instance a wrong number of fields or malformed quoting).
type LineError struct {
	Line  int
	Field string
	Err   error
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Field, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ValidMunicipalityCode reports whether s is exactly 6 ASCII digits and not
// all zeros.
func ValidMunicipalityCode(s string) bool { return digitsNotZero(s, 6) }

// ValidRegionCode reports whether s is one of ISTAT's region codes "01".."20".
func ValidRegionCode(s string) bool {
	if !digitsNotZero(s, 2) {
		return false
	}
	return s <= "20"
}

func validProvinceCode(s string) bool { return digitsNotZero(s, 3) }

func validProvinceAbbr(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

func digitsNotZero(s string, n int) bool {
	if len(s) != n {
		return false
	}
	zero := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if s[i] != '0' {
			zero = false
		}
	}
	return !zero
}

// limitReader fails with ErrTooLarge once more than max bytes have been read.
type limitReader struct {
	r   io.Reader
	n   int64 // bytes still allowed
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.n < 0 {
		l.err = fmt.Errorf("istat: %w", ErrTooLarge)
		return 0, l.err
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1] // read one byte past the limit to detect overflow
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		n += int(l.n) // hand back only bytes within the limit
		l.err = fmt.Errorf("istat: %w", ErrTooLarge)
		return n, l.err
	}
	return n, err
}

// Parse reads and validates the whole input and returns the first error
// found, as a *LineError for anything attributable to a line (header,
// quoting, field count, field values, duplicates, row limit). Exceeding
// MaxBytes yields an error wrapping ErrTooLarge.
func Parse(r io.Reader) (*Dataset, error) {
	lr := &limitReader{r: r, n: MaxBytes}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // header checked by hand for a clearer message
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &LineError{Line: 1, Field: "header", Err: errors.New("empty input")}
		}
		return nil, readError(lr, err)
	}
	if err := checkHeader(header); err != nil {
		return nil, &LineError{Line: 1, Field: "header", Err: err}
	}
	cr.FieldsPerRecord = numColumns
	headerEnd, _ := cr.FieldPos(len(header) - 1)

	ds := &Dataset{}
	firstLine := make(map[string]int)  // municipality code -> line
	regions := make(map[string]Region) // region code -> region
	regionLine := make(map[string]int) // region code -> line it was first named
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readError(lr, err)
		}
		line, _ := cr.FieldPos(0)
		if len(ds.Municipalities) == MaxRows {
			return nil, &LineError{Line: line, Err: ErrTooManyRows}
		}
		fail := func(col int, format string, args ...any) error {
			l, _ := cr.FieldPos(col)
			return &LineError{Line: l, Field: Columns[col], Err: fmt.Errorf(format, args...)}
		}

		m := Municipality{
			Code:         rec[colCode],
			ProvinceCode: rec[colProvinceCode],
			ProvinceAbbr: rec[colProvinceAbbr],
			RegionCode:   rec[colRegionCode],
		}
		if !ValidMunicipalityCode(m.Code) {
			return nil, fail(colCode, "must be 6 digits, not all zero; got %q", m.Code)
		}
		if prev, dup := firstLine[m.Code]; dup {
			return nil, fail(colCode, "duplicate code %s (first on line %d)", m.Code, prev)
		}
		if m.Name, err = text(rec[colName]); err != nil {
			return nil, fail(colName, "%v", err)
		}
		if !validProvinceCode(m.ProvinceCode) {
			return nil, fail(colProvinceCode, "must be 3 digits, not all zero; got %q", m.ProvinceCode)
		}
		if !validProvinceAbbr(m.ProvinceAbbr) {
			return nil, fail(colProvinceAbbr, "must be 2 uppercase letters; got %q", m.ProvinceAbbr)
		}
		if !ValidRegionCode(m.RegionCode) {
			return nil, fail(colRegionCode, "must be 2 digits 01-20; got %q", m.RegionCode)
		}
		regionName, err := text(rec[colRegionName])
		if err != nil {
			return nil, fail(colRegionName, "%v", err)
		}
		if reg, ok := regions[m.RegionCode]; !ok {
			regions[m.RegionCode] = Region{Code: m.RegionCode, Name: regionName}
			regionLine[m.RegionCode] = line
		} else if reg.Name != regionName {
			return nil, fail(colRegionName, "region %s is %q here but %q on line %d",
				m.RegionCode, regionName, reg.Name, regionLine[m.RegionCode])
		}
		if m.Population, err = population(rec[colPopulation]); err != nil {
			return nil, fail(colPopulation, "%v", err)
		}

		firstLine[m.Code] = line
		ds.Municipalities = append(ds.Municipalities, m)
	}

	if len(ds.Municipalities) == 0 {
		return nil, &LineError{Line: headerEnd + 1, Err: errors.New("no data rows")}
	}

	ds.Regions = make([]Region, 0, len(regions))
	for _, reg := range regions {
		ds.Regions = append(ds.Regions, reg)
	}
	slices.SortFunc(ds.Regions, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	return ds, nil
}

// readError converts errors from csv.Reader.Read. Hitting the size limit
// wins over whatever csv made of the truncated last line.
func readError(lr *limitReader, err error) error {
	if lr.err != nil {
		return lr.err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &LineError{Line: pe.StartLine, Err: fmt.Errorf("want %d fields", numColumns)}
		}
		return &LineError{Line: pe.Line, Err: pe.Err}
	}
	return err // I/O error or ErrTooLarge
}

func checkHeader(h []string) error {
	want := strings.Join(Columns, ",")
	for _, name := range h {
		if !slices.Contains(Columns, name) {
			return fmt.Errorf("unknown column %q (want %s)", name, want)
		}
	}
	for i, name := range h {
		if slices.Index(h, name) != i {
			return fmt.Errorf("duplicate column %q", name)
		}
	}
	for _, name := range Columns {
		if !slices.Contains(h, name) {
			return fmt.Errorf("missing column %q (want %s)", name, want)
		}
	}
	for i, name := range h { // now a permutation of Columns
		if name != Columns[i] {
			return fmt.Errorf("column %d is %q, want %q (want %s)", i+1, name, Columns[i], want)
		}
	}
	return nil
}

// text trims s and requires it to be non-empty, valid UTF-8 and free of
// control characters.
func text(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("must not be empty")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", errors.New("contains a control character")
	}
	return s, nil
}

// population parses a non-negative decimal integer made of ASCII digits.
func population(s string) (int, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("must be >= 0; got %q", s)
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("must be a non-negative integer; got %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("out of range: %q", s)
	}
	return n, nil
}
