// Package mail sends e-mail over SMTP (implements notify.Mailer) with the
// standard library: implicit TLS (port 465) or STARTTLS when the server
// offers it (or required), AUTH PLAIN only over TLS (or to localhost), an
// overall timeout per message that also honours the caller's context,
// RFC 2047 headers and a quoted-printable UTF-8 body.
//
// A 5xx reply is returned as a *PermanentError (retrying will not help);
// anything else (4xx, network, timeout) is temporary.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/coprod/coprod/domain/notify"
)

// StartTLS policies.
const (
	StartTLSOpportunistic = "opportunistic" // STARTTLS when the server offers it (default)
	StartTLSRequired      = "required"      // refuse to send in clear
	StartTLSNone          = "none"          // never upgrade
)

// DefaultTimeout bounds one message (dial and whole conversation) when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config of the SMTP sender.
type Config struct {
	Host string // e.g. smtp.example.it
	Port int    // 0: 587, or 465 with ImplicitTLS
	// Username and Password for AUTH PLAIN, sent only over TLS or to
	// localhost (as net/smtp enforces). Empty Username: no AUTH.
	Username string
	Password string
	From     string // envelope and header sender: an address
	FromName string // display name of the sender, UTF-8
	// StartTLS is "opportunistic" (default, also when empty), "required"
	// or "none". Ignored with ImplicitTLS.
	StartTLS string
	// ImplicitTLS: TLS from the first byte (port 465 style).
	ImplicitTLS bool
	// TLSConfig for TLS; nil: system roots. An empty ServerName is set to
	// Host.
	TLSConfig *tls.Config
	// Timeout for one message: dial plus the whole conversation. 0: 30s.
	Timeout time.Duration
	Helo    string // EHLO name; default "localhost"
}

// String describes c without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = "(redacted)"
	}
	return fmt.Sprintf("mail.Config{Host:%s Port:%d Username:%s Password:%s From:%s FromName:%q StartTLS:%s ImplicitTLS:%t TLSConfig:%t Timeout:%s Helo:%s}",
		c.Host, c.Port, c.Username, pw, c.From, c.FromName, c.StartTLS, c.ImplicitTLS, c.TLSConfig != nil, c.Timeout, c.Helo)
}

// GoString is String: %#v must not print the password either.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the password out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""), slog.String("from", c.From), slog.String("starttls", c.StartTLS),
		slog.Bool("implicit_tls", c.ImplicitTLS), slog.Duration("timeout", c.Timeout))
}

// Sender sends messages, one connection each. It is safe for concurrent
// use.
type Sender struct {
	cfg  Config
	from mail.Address // parsed cfg.From / cfg.FromName
}

var _ notify.Mailer = (*Sender)(nil)

// PermanentError is a 5xx reply from the server: retrying will not help.
// Send wraps it (use errors.As).
type PermanentError struct {
	Code int    // SMTP reply code, 500-599
	Msg  string // the server's text
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("smtp: permanent failure: %d %s", e.Code, e.Msg)
}

// IsPermanent reports whether err (from Send) is a permanent failure.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ErrInvalidMessage is wrapped by Send when the message cannot be sent as
// it is (no Message-ID, a line break in a header, a bad address): detected
// before connecting.
var ErrInvalidMessage = errors.New("mail: invalid message")

// ErrNoStartTLS is wrapped by Send when StartTLS is "required" and the
// server does not offer it. It is not permanent: a downgrade by someone in
// the middle is possible, and so is a fix of the server.
var ErrNoStartTLS = errors.New("mail: the server does not offer STARTTLS, which is required")

// New validates cfg and fills in the defaults.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	if strings.ContainsAny(cfg.Host, " \t\r\n/") {
		return nil, fmt.Errorf("mail: SMTP host %q is not a host name", cfg.Host)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", cfg.From, err)
	}
	if cfg.FromName == "" {
		cfg.FromName = from.Name
	}
	if strings.ContainsAny(cfg.FromName, "\r\n") {
		return nil, errors.New("mail: sender name with a line break")
	}
	switch cfg.StartTLS {
	case "":
		cfg.StartTLS = StartTLSOpportunistic
	case StartTLSOpportunistic, StartTLSRequired, StartTLSNone:
	default:
		return nil, fmt.Errorf("mail: StartTLS %q: want opportunistic, required or none", cfg.StartTLS)
	}
	switch {
	case cfg.Port == 0 && cfg.ImplicitTLS:
		cfg.Port = 465
	case cfg.Port == 0:
		cfg.Port = 587
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("mail: port %d out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: negative timeout %s", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Helo == "" {
		cfg.Helo = "localhost"
	}
	if strings.ContainsAny(cfg.Helo, " \t\r\n") {
		return nil, fmt.Errorf("mail: EHLO name %q", cfg.Helo)
	}
	if cfg.Username != "" && !cfg.ImplicitTLS && cfg.StartTLS == StartTLSNone && !isLocalhost(cfg.Host) {
		return nil, errors.New("mail: credentials without TLS to a remote server: net/smtp would refuse to send them; use STARTTLS or ImplicitTLS")
	}
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	}
	return &Sender{cfg: cfg, from: mail.Address{Name: cfg.FromName, Address: from.Address}}, nil
}

func isLocalhost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

func (s *Sender) tlsConfig() *tls.Config {
	var tc *tls.Config
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = s.cfg.Host
	}
	return tc
}

// Send delivers m in one SMTP transaction, or returns why not. A nil error
// means the server accepted the message (250 after DATA).
func (s *Sender) Send(ctx context.Context, m notify.Message) error {
	to, err := recipient(m)
	if err != nil {
		return err
	}
	body, err := s.compose(m, to, time.Now())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: not sent: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// The deadline bounds every read and write; cancelling ctx moves it to
	// now, which unblocks whatever is waiting on the connection.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	var c *smtp.Client
	if s.cfg.ImplicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return s.fail(ctx, "TLS handshake", err)
		}
		c, err = smtp.NewClient(tc, s.cfg.Host)
	} else {
		c, err = smtp.NewClient(conn, s.cfg.Host)
	}
	if err != nil {
		return s.fail(ctx, "greeting", err)
	}
	defer c.Close()
	if err := s.converse(ctx, c, to.Address, body); err != nil {
		var ne net.Error
		if ctx.Err() == nil && !errors.As(err, &ne) && !errors.Is(err, io.EOF) {
			s.quit(c, conn) // the server refused something: say goodbye, briefly
		}
		return err
	}
	return nil
}

// converse runs the SMTP conversation after the greeting.
func (s *Sender) converse(ctx context.Context, c *smtp.Client, to string, body []byte) error {
	if err := c.Hello(s.cfg.Helo); err != nil {
		return s.fail(ctx, "EHLO", err)
	}
	if !s.cfg.ImplicitTLS && s.cfg.StartTLS != StartTLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return s.fail(ctx, "STARTTLS", err)
			}
		} else if s.cfg.StartTLS == StartTLSRequired {
			return fmt.Errorf("mail: %s:%d: %w", s.cfg.Host, s.cfg.Port, ErrNoStartTLS)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("mail: AUTH: the server does not offer authentication (over this connection)")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return s.fail(ctx, "AUTH as "+s.cfg.Username, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return s.fail(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return s.fail(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil { // the server's reply to the final "."
		return s.fail(ctx, "end of DATA", err)
	}
	_ = c.Quit() // the message is accepted: a failing QUIT changes nothing
	return nil
}

// quit sends QUIT after a refusal, waiting a short while at most.
func (s *Sender) quit(c *smtp.Client, conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(min(time.Second, s.cfg.Timeout/10)))
	_ = c.Quit()
}

// fail wraps err with the step of the conversation: a 5xx reply becomes a
// *PermanentError; a timeout or cancellation wraps the context's error. The
// password is never part of an error.
func (s *Sender) fail(ctx context.Context, step string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 && tp.Code <= 599 {
			return fmt.Errorf("mail: %s: %w", step, &PermanentError{Code: tp.Code, Msg: tp.Msg})
		}
		return fmt.Errorf("mail: %s: temporary failure: %w", step, err)
	}
	cerr := ctx.Err()
	var ne net.Error
	if cerr == nil && errors.As(err, &ne) && ne.Timeout() {
		cerr = context.DeadlineExceeded // the connection deadline fired just before the context's timer
	}
	switch {
	case errors.Is(cerr, context.DeadlineExceeded):
		return fmt.Errorf("mail: %s: %s:%d: no answer within the timeout (%s): %w: %w", step, s.cfg.Host, s.cfg.Port, s.cfg.Timeout, cerr, err)
	case cerr != nil:
		return fmt.Errorf("mail: %s: %s:%d: %w (%v)", step, s.cfg.Host, s.cfg.Port, cerr, err)
	}
	return fmt.Errorf("mail: %s: %s:%d: %w", step, s.cfg.Host, s.cfg.Port, err)
}
