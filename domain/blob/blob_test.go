package blob_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/blob"
)

func TestSniff(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", blob.SniffLen-1) + "è" // the è is cut by SniffLen
	cases := []struct {
		name, head, want string
	}{
		{"pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", blob.TypePDF},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", blob.TypePNG},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", blob.TypeJPEG},
		{"zip", "PK\x03\x04\x14\x00\x06\x00", blob.TypeZip},
		{"text", "Relazione finale — città di Milano\n", blob.TypeText},
		{"empty", "", blob.TypeText},
		{"text cut mid-rune at SniffLen", long, blob.TypeText},
		{"text with NUL", "abc\x00def", blob.TypeOther},
		{"latin-1", "citt\xe0", blob.TypeOther},
		{"short text ending mid-rune", "citt\xc3", blob.TypeOther},
		{"elf", "\x7fELF\x02\x01\x01\x00", blob.TypeOther},
		{"gif", "GIF89a\x01\x00\x01\x00\x80\x00\x00", blob.TypeOther},
		{"png prefix only", "\x89PNG", blob.TypeOther},
		{"pdf too short", "%PDF", blob.TypeText},
		{"empty zip is not accepted", "PK\x05\x06" + strings.Repeat("\x00", 18), blob.TypeOther},
		{"magic after SniffLen is ignored", strings.Repeat("\x00", blob.SniffLen) + "%PDF-", blob.TypeOther},
	}
	for _, c := range cases {
		if got := blob.Sniff([]byte(c.head)); got != c.want {
			t.Errorf("%s: Sniff = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAllowedType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{blob.TypePDF, blob.TypePNG, blob.TypeJPEG, blob.TypeZip, blob.TypeText} {
		if !blob.AllowedType(ct) {
			t.Errorf("%q refused", ct)
		}
	}
	for _, ct := range []string{blob.TypeOther, "", "text/html", "text/plain", "image/gif", "application/PDF", "application/pdf "} {
		if blob.AllowedType(ct) {
			t.Errorf("%q accepted", ct)
		}
	}
	got := blob.AllowedTypes()
	got[0] = "text/html" // a copy: the caller cannot widen the list
	if blob.AllowedType("text/html") {
		t.Error("AllowedTypes returned the package's own slice")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		kind domain.Kind
		code string
	}{
		{blob.ErrTooLarge, domain.KindTooLarge, "file_too_large"},
		{blob.ErrNotFound, domain.KindNotFound, "file_not_found"},
		{blob.ErrTypeNotAllowed, domain.KindInvalid, "file_type_not_allowed"},
		{blob.ErrInvalidName, domain.KindInvalid, "invalid_file_name"},
	} {
		var e *domain.Error
		if !errors.As(c.err, &e) || e.Kind != c.kind || e.Code != c.code {
			t.Errorf("%v: want kind %v, code %s", c.err, c.kind, c.code)
		}
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string // want "" means refused
	}{
		{"domanda.pdf", "domanda.pdf"},
		{"  Relazione finale.docx  ", "Relazione finale.docx"},
		{"relazione-città-€.pdf", "relazione-città-€.pdf"},
		{"日本語の書類.pdf", "日本語の書類.pdf"},
		{"👩‍👩‍👧 famiglia.jpg", "👩‍👩‍👧 famiglia.jpg"}, // zero-width joiners are fine
		{"...", "..."},
		{".bashrc", ".bashrc"},
		{"a/b/c.pdf", "c.pdf"},
		{"/etc/passwd", "passwd"},
		{"../../etc/passwd", "passwd"},
		{`C:\fakepath\bilancio.xlsx`, "bilancio.xlsx"},
		{`..\..\x.pdf`, "x.pdf"},
		{strings.Repeat("é", 200), strings.Repeat("é", 200)},

		{"", ""},
		{"   ", ""},
		{".", ""},
		{"..", ""},
		{"dir/", ""},
		{"dir/..", ""},
		{`dir\.`, ""},
		{"a\x00b.pdf", ""},
		{"a\nb.pdf", ""},
		{"a\rb.pdf", ""},
		{"a\tb.pdf", ""},
		{"a\x7fb.pdf", ""},
		{"a\u0085b.pdf", ""}, // NEL, a C1 control
		{"a\u2028b.pdf", ""},
		{"invoice\u202efdp.exe", ""},
		{"a\u2066b\u2069.pdf", ""},
		{"citt\xe0.pdf", ""},
		{strings.Repeat("é", 201), ""},
		{strings.Repeat("a", 201), ""},
	}
	for _, c := range cases {
		got, err := blob.ValidName(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ValidName(%q) = %q, want refused", c.in, got)
		case c.want == "" && (!errors.Is(err, blob.ErrInvalidName) || domain.KindOf(err) != domain.KindInvalid):
			t.Errorf("ValidName(%q): error %v, want invalid_file_name", c.in, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("ValidName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"%PDF-1.4", "\x89PNG\r\n\x1a\n", "\xff\xd8\xff\xdb", "PK\x03\x04", "ciao", "", "\x00", "\xc3", strings.Repeat("é", 300)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		ct := blob.Sniff(head)
		if ct != blob.TypeOther && !blob.AllowedType(ct) {
			t.Fatalf("Sniff returned %q", ct)
		}
		if len(head) > blob.SniffLen {
			if again := blob.Sniff(head[:blob.SniffLen]); again != ct {
				t.Fatalf("Sniff depends on bytes after SniffLen: %q vs %q", ct, again)
			}
		}
		if ct == blob.TypeText {
			h := head[:min(len(head), blob.SniffLen)]
			if bytes.IndexByte(h, 0) >= 0 {
				t.Fatalf("text with a NUL byte: %q", h)
			}
			if len(h) < blob.SniffLen && !utf8.Valid(h) {
				t.Fatalf("text that is not UTF-8: %q", h)
			}
		}
	})
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a.pdf", "../../x", `C:\x\y.docx`, ".", "..", "", " ", "a\x00", "città.pdf", "\u202e", strings.Repeat("x", 250), "a/\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := blob.ValidName(in)
		if err != nil {
			if !errors.Is(err, blob.ErrInvalidName) || domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("ValidName(%q): unexpected error %v", in, err)
			}
			return
		}
		if out == "" || out == "." || out == ".." {
			t.Fatalf("ValidName(%q) = %q", in, out)
		}
		if strings.ContainsAny(out, `/\`) {
			t.Fatalf("ValidName(%q) = %q has a path separator", in, out)
		}
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > blob.MaxNameRunes {
			t.Fatalf("ValidName(%q) = %q: invalid UTF-8 or too long", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) {
				t.Fatalf("ValidName(%q) = %q has control character %U", in, out, r)
			}
		}
		if again, err := blob.ValidName(out); err != nil || again != out {
			t.Fatalf("ValidName is not idempotent on %q: %q, %v", out, again, err)
		}
	})
}
