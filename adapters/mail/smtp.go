// Package mail sends e-mail over SMTP (implements notify.Mailer): STARTTLS
// when the server offers it (or required), AUTH PLAIN over TLS, an overall
// timeout per message, RFC 2047 headers and a quoted-printable UTF-8 body.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/coprod/coprod/domain/notify"
)

// Config of the SMTP sender.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	FromName string
	StartTLS string // opportunistic (default), required, none
	// TLSConfig for STARTTLS; nil: system roots, ServerName = Host.
	TLSConfig *tls.Config
	Timeout   time.Duration // per message, default 30s
	Helo      string        // default "localhost"
}

// Sender sends messages, one connection each.
type Sender struct{ cfg Config }

var _ notify.Mailer = (*Sender)(nil)

// PermanentError is a 5xx refusal: retrying will not help.
type PermanentError struct {
	Code int
	Msg  string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("smtp: permanent failure %d: %s", e.Code, e.Msg)
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", cfg.From, err)
	}
	switch cfg.StartTLS {
	case "":
		cfg.StartTLS = "opportunistic"
	case "opportunistic", "required", "none":
	default:
		return nil, fmt.Errorf("mail: StartTLS %q: want opportunistic, required or none", cfg.StartTLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Helo == "" {
		cfg.Helo = "localhost"
	}
	return &Sender{cfg: cfg}, nil
}

func clean(s string) bool { return !strings.ContainsAny(s, "\r\n") }

// Send delivers m, or returns why not.
func (s *Sender) Send(ctx context.Context, m notify.Message) error {
	if m.MessageID == "" || !clean(m.MessageID) || !clean(m.Subject) || !clean(m.To) || !clean(m.ToName) {
		return errors.New("mail: message without Message-ID, or with a line break in a header")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	for k, v := range m.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n\t") || !clean(v) {
			return fmt.Errorf("mail: header %q is not valid", k)
		}
	}
	body, err := s.compose(m, to.Address)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("mail: connect: %w", err)
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) }) // honour cancellation
	defer stop()
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.Helo); err != nil {
		return classify("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && s.cfg.StartTLS != "none" {
		tc := s.cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return classify("STARTTLS", err)
		}
	} else if s.cfg.StartTLS == "required" {
		return &PermanentError{Code: 530, Msg: "the server does not offer STARTTLS, which is required"}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	_ = c.Quit()
	return nil
}

// classify turns a 5xx reply into a PermanentError; anything else is
// temporary. The password never appears in an error.
func classify(step string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return &PermanentError{Code: tp.Code, Msg: step + ": " + tp.Msg}
	}
	return fmt.Errorf("mail: %s: %w", step, err)
}

func (s *Sender) compose(m notify.Message, to string) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", (&mail.Address{Name: s.cfg.FromName, Address: s.cfg.From}).String())
	h("To", (&mail.Address{Name: m.ToName, Address: to}).String())
	h("Subject", mime.QEncoding.Encode("UTF-8", m.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	for k, v := range m.Headers {
		h(k, v)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
