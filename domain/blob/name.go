package blob

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameRunes bounds the length of a file name.
const MaxNameRunes = 200

// ValidName cleans a user-supplied file name: it keeps the base name (the
// part after the last '/' or '\', as browsers and some clients send full
// paths) and trims surrounding white space. It refuses (ErrInvalidName) a
// name that is not valid UTF-8, that is empty, "." or "..", longer than
// MaxNameRunes runes, or that holds a control character, a line or
// paragraph separator, or a bidirectional formatting character (a right-to-
// left override makes "invoice<RLO>fdp.exe" display as "invoiceexe.pdf").
//
// The name is metadata to show and to offer on download; it never becomes
// part of a storage key.
func ValidName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", ErrInvalidName.WithMessage("the file name is not valid UTF-8")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch name {
	case "":
		return "", ErrInvalidName.WithMessage("the file name is empty")
	case ".", "..":
		return "", ErrInvalidName.WithMessage("the file name cannot be . or ..")
	}
	n := 0
	for _, r := range name {
		if forbiddenInName(r) {
			return "", ErrInvalidName.WithMessage("the file name contains the control character %U", r)
		}
		n++
	}
	if n > MaxNameRunes {
		return "", ErrInvalidName.WithMessage("the file name is longer than %d characters", MaxNameRunes)
	}
	return name, nil
}

func forbiddenInName(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0, DEL, C1
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators
		return true
	case r == '\u061c' || r == '\u200e' || r == '\u200f', // ALM, LRM, RLM
		r >= '\u202a' && r <= '\u202e', // LRE, RLE, PDF, LRO, RLO
		r >= '\u2066' && r <= '\u2069': // LRI, RLI, FSI, PDI
		return true
	}
	return false
}
