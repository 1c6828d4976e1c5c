package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coprod/coprod/domain/notify"
)

// reserved are the headers the adapter writes itself: m.Headers cannot
// repeat or override them.
var reserved = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"auto-submitted": true,
}

// recipient checks everything about m that could make the message wrong or
// let a header be injected, before any connection is made.
func recipient(m notify.Message) (*mail.Address, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, a...))
	}
	if m.MessageID == "" {
		return nil, bad("no Message-ID")
	}
	if !validMessageID(m.MessageID) {
		return nil, bad("Message-ID %q: want <id-left@id-right> without spaces or line breaks", m.MessageID)
	}
	for name, v := range map[string]string{"To": m.To, "recipient name": m.ToName, "Subject": m.Subject} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, bad("line break in %s", name)
		}
		if !utf8.ValidString(v) {
			return nil, bad("%s is not UTF-8", name)
		}
	}
	if !utf8.ValidString(m.Text) {
		return nil, bad("body is not UTF-8")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, bad("recipient %q: %v", m.To, err)
	}
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return nil, bad("header name %q is not a token", k)
		}
		if reserved[strings.ToLower(k)] {
			return nil, bad("header %s is set by the mailer", k)
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return nil, bad("header %s: control character (line break?) in the value", k)
		}
		if !utf8.ValidString(v) {
			return nil, bad("header %s is not UTF-8", k)
		}
	}
	return to, nil
}

// validFieldName: RFC 5322 field-name = 1*ftext (printable ASCII but ':').
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func validMessageID(id string) bool {
	if len(id) < 5 || len(id) > 900 || id[0] != '<' || id[len(id)-1] != '>' || !strings.Contains(id, "@") {
		return false
	}
	for i := 1; i < len(id)-1; i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// compose renders the message: headers (RFC 5322, RFC 2047 for UTF-8),
// CRLF line endings, a quoted-printable UTF-8 text body. Dot-stuffing is
// left to net/smtp's DATA writer.
func (s *Sender) compose(m notify.Message, to *mail.Address, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) {
		b.WriteString(fold(k + ": " + v))
		b.WriteString("\r\n")
	}
	toName := m.ToName
	if toName == "" {
		toName = to.Name
	}
	h("From", s.from.String())
	h("To", (&mail.Address{Name: toName, Address: to.Address}).String())
	h("Subject", encodeText(m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h(k, encodeText(m.Headers[k]))
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b) // text mode: any line break becomes CRLF
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeText encodes an unstructured header value (RFC 2047 Q, UTF-8) when
// it is not plain ASCII. Plain ASCII that a reader would take for an
// encoded word, or with a word too long to fold, is B-encoded.
func encodeText(v string) string {
	e := mime.QEncoding.Encode("UTF-8", v)
	if e != v {
		return e
	}
	long := slices.ContainsFunc(strings.Fields(v), func(w string) bool { return len(w) > 900 })
	if !strings.Contains(v, "=?") && !long {
		return v
	}
	return bEncode(v)
}

// bEncode always encodes v as RFC 2047 B words of at most 75 characters,
// never splitting a UTF-8 character.
func bEncode(v string) string {
	const maxRaw = 45 // 60 base64 characters + "=?UTF-8?B?" + "?="
	var words []string
	for v != "" {
		n := min(len(v), maxRaw)
		for n < len(v) && !utf8.RuneStart(v[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(v[:n]))+"?=")
		v = v[n:]
	}
	return strings.Join(words, " ")
}

// fold folds a header line at spaces so that lines stay within 78
// characters where possible (RFC 5322 2.2.3): "CRLF SP" before a space,
// which unfolding removes again.
func fold(line string) string {
	const max = 78
	if len(line) <= max {
		return line
	}
	var b strings.Builder
	col, chunks, first := 0, 0, true
	rest := line
	for rest != "" {
		// the next chunk: up to (not including) the next space after the first byte
		i := strings.IndexByte(rest[1:], ' ')
		chunk := rest
		if i >= 0 {
			chunk = rest[:i+1]
		}
		// never right after "Name:", nor before a run of spaces at the end
		enough := chunks > 1 || !first && chunks > 0
		if enough && col+len(chunk) > max && chunk[0] == ' ' && strings.TrimLeft(chunk, " ") != "" {
			b.WriteString("\r\n")
			col, chunks, first = 0, 0, false
		}
		b.WriteString(chunk)
		col += len(chunk)
		chunks++
		rest = rest[len(chunk):]
	}
	return b.String()
}
