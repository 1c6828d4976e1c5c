package blob

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// Content types recognised by Sniff.
const (
	TypePDF   = "application/pdf"
	TypePNG   = "image/png"
	TypeJPEG  = "image/jpeg"
	TypeZip   = "application/zip" // also docx, xlsx, pptx, odt, ods: they are zip archives
	TypeText  = "text/plain; charset=utf-8"
	TypeOther = "application/octet-stream" // anything else; never allowed
)

// SniffLen is how many leading bytes Sniff looks at.
const SniffLen = 512

var allowed = []string{TypePDF, TypePNG, TypeJPEG, TypeZip, TypeText}

// AllowedTypes lists the content types accepted for attachments.
func AllowedTypes() []string { return slices.Clone(allowed) }

// AllowedType reports whether ct, as returned by Sniff, may be stored. The
// comparison is exact: ct comes from Sniff, never from the client.
func AllowedType(ct string) bool { return slices.Contains(allowed, ct) }

var magics = []struct {
	prefix, ct string
}{
	{"%PDF-", TypePDF},
	{"\x89PNG\r\n\x1a\n", TypePNG},
	{"\xff\xd8\xff", TypeJPEG},
	{"PK\x03\x04", TypeZip},
}

// Sniff returns the content type of a file from its first bytes: PDF, PNG,
// JPEG and zip by their magic numbers, else UTF-8 text (valid UTF-8 without
// NUL bytes), else TypeOther. Only the first SniffLen bytes of head are
// used. When there are SniffLen of them the content presumably goes on, so a
// rune cut by the end of head does not make it invalid text.
//
// Like every sniffer it judges the head alone: text/plain means the head is
// text, not that the rest is.
func Sniff(head []byte) string {
	truncated := len(head) >= SniffLen
	if truncated {
		head = head[:SniffLen]
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.ct
		}
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return TypeOther
	}
	if truncated {
		head = trimPartialRune(head)
	}
	if utf8.Valid(head) {
		return TypeText
	}
	return TypeOther
}

// trimPartialRune drops an incomplete (but so far well-formed) UTF-8
// sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
