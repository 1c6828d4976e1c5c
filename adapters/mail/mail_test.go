package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/coprod/coprod/domain/notify"
)

// ---- an in-process SMTP server (go-smtp) that records what it receives

type received struct {
	From, To string
	Data     []byte
	TLS      bool   // the session ran over TLS (STARTTLS or implicit)
	User     string // authenticated user, "" without AUTH
}

type fakeServer struct {
	Host string
	Port int

	user, pass string            // AUTH PLAIN credentials; "" : no AUTH offered
	rcptErr    *gosmtp.SMTPError // returned by RCPT, if set

	mu       sync.Mutex
	messages []received
	sessions []sessionInfo
}

type sessionInfo struct {
	TLS  bool
	User string
}

type serverOpts struct {
	starttls    *tls.Config // offer STARTTLS with this config
	implicitTLS *tls.Config // TLS from the first byte
	user, pass  string
	rcptErr     *gosmtp.SMTPError
}

func startServer(t *testing.T, o serverOpts) *fakeServer {
	t.Helper()
	fs := &fakeServer{user: o.user, pass: o.pass, rcptErr: o.rcptErr}
	srv := gosmtp.NewServer(fs)
	srv.Domain = "test.local"
	srv.TLSConfig = o.starttls
	srv.AllowInsecureAuth = false
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS != nil {
		l = tls.NewListener(l, o.implicitTLS)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	fs.Host, fs.Port = splitAddr(t, l.Addr())
	return fs
}

func splitAddr(t *testing.T, a net.Addr) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, port
}

func (fs *fakeServer) received() []received {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]received(nil), fs.messages...)
}

// NewSession implements gosmtp.Backend; it is called again after STARTTLS,
// so the session sees the TLS state of the connection.
func (fs *fakeServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{fs: fs, tls: isTLS}, nil
}

type session struct {
	fs       *fakeServer
	tls      bool
	user     string
	from, to string
}

func (s *session) AuthMechanisms() []string {
	if s.fs.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.fs.user || password != s.fs.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.fs.user != "" && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.fs.rcptErr != nil {
		return s.fs.rcptErr
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.fs.mu.Lock()
	s.fs.messages = append(s.fs.messages, received{From: s.from, To: s.to, Data: b, TLS: s.tls, User: s.user})
	s.fs.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }

// ---- certificates

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// that trusts it (and only it).
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "coprod test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12} // ServerName left empty: the adapter sets Host
	return server, client
}

// ---- helpers

const (
	italianSubject = "Avviso: modifica del bando «Anziani soli» – proroga"
	password       = "s3greta-Pa55!"
)

var italianText = "Gentile Associazione «Età d'oro»,\n" +
	"il bando è stato modificato: la scadenza è prorogata al 30 novembre. " + strings.Repeat("Questa è una riga molto lunga, più di settantasei caratteri, perché così si verifica l'andata a capo morbida. ", 3) + "\n" +
	".una riga che comincia con un punto\n" +
	".\n" +
	"riga con spazi finali   \n" +
	"Cordiali saluti,\nl'ufficio"

func message(id string) notify.Message {
	return notify.Message{
		To: "mario.rossi@example.it", ToName: "Mario Rossi – Età d'oro",
		Subject: italianSubject, Text: italianText, MessageID: id,
		Headers: map[string]string{"X-Coprod-Notice": "5f0c2a8e-6b1d-4c1e-9a3e-2b7d1f0e9c11"},
	}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// parse checks the raw message's form and returns it parsed with its
// decoded body.
func parse(t *testing.T, raw []byte) (*mail.Message, string) {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d characters long", i, len(line))
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Errorf("line %d is not 7-bit: %q", i, line)
				break
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return msg, string(body)
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func checkMessage(t *testing.T, got received, want notify.Message, fromName string) {
	t.Helper()
	if got.From != "avvisi@coprod.example.it" || got.To != want.To {
		t.Errorf("envelope %s -> %s", got.From, got.To)
	}
	msg, body := parse(t, got.Data)
	h := msg.Header
	if h.Get("Message-ID") != want.MessageID {
		t.Errorf("Message-ID %q, want %q", h.Get("Message-ID"), want.MessageID)
	}
	raw := h.Get("Subject")
	if !strings.HasPrefix(raw, "=?UTF-8?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", raw)
	}
	var dec mime.WordDecoder
	subj, err := dec.DecodeHeader(raw)
	if err != nil || subj != want.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subj, err, want.Subject)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != fromName || from[0].Address != "avvisi@coprod.example.it" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != want.ToName || to[0].Address != want.To {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	for k, v := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted": "auto-generated", "X-Coprod-Notice": want.Headers["X-Coprod-Notice"],
	} {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	if body != crlf(want.Text)+"\r\n" {
		t.Errorf("body decodes to\n%q\nwant\n%q", body, crlf(want.Text)+"\r\n")
	}
}

func noPassword(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the password: %v", err)
	}
}

// ---- (1) plain, no auth

func TestSendPlain(t *testing.T) {
	t.Parallel()
	fs := startServer(t, serverOpts{})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, From: "avvisi@coprod.example.it", FromName: "Comune di Forlì – coprod"})
	m := message("<0123456789abcdef@coprod>")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fs.received()
	if len(got) != 1 {
		t.Fatalf("%d messages received", len(got))
	}
	if got[0].TLS || got[0].User != "" {
		t.Errorf("tls=%v user=%q on a plain server", got[0].TLS, got[0].User)
	}
	checkMessage(t, got[0], m, "Comune di Forlì – coprod")
}

// ---- (2) STARTTLS + AUTH PLAIN

func TestSendStartTLSAuth(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	fs := startServer(t, serverOpts{starttls: srvTLS, user: "coprod", pass: password})
	for _, policy := range []string{"", StartTLSOpportunistic, StartTLSRequired} {
		s := newSender(t, Config{Host: fs.Host, Port: fs.Port, Username: "coprod", Password: password,
			From: "avvisi@coprod.example.it", FromName: "coprod", StartTLS: policy, TLSConfig: cliTLS, Timeout: 10 * time.Second})
		id := "<tls-" + policy + "@coprod>"
		m := message(id)
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("Send (%q): %v", policy, err)
		}
		got := fs.received()
		last := got[len(got)-1]
		if !last.TLS {
			t.Errorf("policy %q: the client did not upgrade to TLS", policy)
		}
		if last.User != "coprod" {
			t.Errorf("policy %q: authenticated as %q", policy, last.User)
		}
		checkMessage(t, last, m, "coprod")
		if !bytes.Contains(last.Data, []byte("\r\nMessage-ID: "+id+"\r\n")) {
			t.Errorf("Message-ID header is not exactly %s", id)
		}
	}
}

func TestWrongPasswordIsPermanentAndHidden(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	fs := startServer(t, serverOpts{starttls: srvTLS, user: "coprod", pass: "another"})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, Username: "coprod", Password: password,
		From: "avvisi@coprod.example.it", TLSConfig: cliTLS, Timeout: 10 * time.Second})
	err := s.Send(context.Background(), message("<pw@coprod>"))
	var perm *PermanentError
	if !errors.As(err, &perm) || perm.Code != 535 {
		t.Fatalf("want a permanent 535, got %v", err)
	}
	noPassword(t, err)
	if n := len(fs.received()); n != 0 {
		t.Errorf("%d messages received", n)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	t.Parallel()
	srvTLS, _ := selfSigned(t)
	_, otherCA := selfSigned(t)
	fs := startServer(t, serverOpts{starttls: srvTLS})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, From: "avvisi@coprod.example.it", TLSConfig: otherCA, Timeout: 10 * time.Second})
	err := s.Send(context.Background(), message("<cert@coprod>"))
	if err == nil || IsPermanent(err) {
		t.Fatalf("want a temporary error for an untrusted certificate (no fallback to clear text), got %v", err)
	}
	if n := len(fs.received()); n != 0 {
		t.Errorf("%d messages received", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	fs := startServer(t, serverOpts{implicitTLS: srvTLS, user: "coprod", pass: password})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, Username: "coprod", Password: password, From: "avvisi@coprod.example.it",
		FromName: "coprod", ImplicitTLS: true, StartTLS: StartTLSRequired, TLSConfig: cliTLS, Timeout: 10 * time.Second})
	m := message("<implicit@coprod>")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fs.received()
	if len(got) != 1 || !got[0].TLS || got[0].User != "coprod" {
		t.Fatalf("received %+v", got)
	}
	checkMessage(t, got[0], m, "coprod")
}

// ---- (3) STARTTLS required, not offered

func TestStartTLSRequiredNotOffered(t *testing.T) {
	t.Parallel()
	fs := startServer(t, serverOpts{})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, From: "avvisi@coprod.example.it", StartTLS: StartTLSRequired})
	err := s.Send(context.Background(), message("<req@coprod>"))
	if !errors.Is(err, ErrNoStartTLS) {
		t.Fatalf("want ErrNoStartTLS, got %v", err)
	}
	if IsPermanent(err) {
		t.Errorf("a missing STARTTLS should not be permanent: %v", err)
	}
	if n := len(fs.received()); n != 0 {
		t.Errorf("%d messages received in clear", n)
	}
}

func TestStartTLSNoneDoesNotUpgrade(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	fs := startServer(t, serverOpts{starttls: srvTLS})
	s := newSender(t, Config{Host: fs.Host, Port: fs.Port, From: "avvisi@coprod.example.it", StartTLS: StartTLSNone, TLSConfig: cliTLS})
	if err := s.Send(context.Background(), message("<none@coprod>")); err != nil {
		t.Fatal(err)
	}
	if got := fs.received(); len(got) != 1 || got[0].TLS {
		t.Fatalf("received %+v", got)
	}
}

// ---- (4) 5xx permanent, 4xx temporary

func TestRcptRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      int
		permanent bool
	}{{550, true}, {451, false}} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			t.Parallel()
			fs := startServer(t, serverOpts{rcptErr: &gosmtp.SMTPError{Code: tc.code, EnhancedCode: gosmtp.EnhancedCode{tc.code / 100, 1, 1}, Message: "not today"}})
			s := newSender(t, Config{Host: fs.Host, Port: fs.Port, From: "avvisi@coprod.example.it"})
			err := s.Send(context.Background(), message("<rcpt@coprod>"))
			if err == nil {
				t.Fatal("no error")
			}
			var perm *PermanentError
			if got := errors.As(err, &perm); got != tc.permanent {
				t.Fatalf("permanent=%v, want %v: %v", got, tc.permanent, err)
			}
			if tc.permanent && (perm.Code != 550 || !strings.Contains(perm.Msg, "not today")) {
				t.Errorf("PermanentError %+v", perm)
			}
			if !strings.Contains(err.Error(), "RCPT") {
				t.Errorf("error without the step: %v", err)
			}
			if n := len(fs.received()); n != 0 {
				t.Errorf("%d messages received", n)
			}
		})
	}
}

// ---- (5) a server that never answers

// silentListener accepts connections and never writes; accepted signals
// each accepted connection.
func silentListener(t *testing.T) (host string, port int, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	host, port = splitAddr(t, l.Addr())
	return host, port, ch
}

func TestSilentServerTimeout(t *testing.T) {
	t.Parallel()
	host, port, _ := silentListener(t)
	const timeout = 300 * time.Millisecond
	s := newSender(t, Config{Host: host, Port: port, From: "avvisi@coprod.example.it", Timeout: timeout})
	start := time.Now()
	err := s.Send(context.Background(), message("<silent@coprod>"))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("no error from a silent server")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("want a timeout error, got %v", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("want a net.Error with Timeout(), got %v", err)
	}
	if IsPermanent(err) {
		t.Errorf("a timeout is not permanent: %v", err)
	}
	if elapsed < timeout-50*time.Millisecond || elapsed > timeout+2*time.Second {
		t.Errorf("returned after %s with Timeout %s", elapsed, timeout)
	}
}

func TestSilentServerCancel(t *testing.T) {
	t.Parallel()
	host, port, accepted := silentListener(t)
	s := newSender(t, Config{Host: host, Port: port, From: "avvisi@coprod.example.it", Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, message("<cancel@coprod>")) }()
	select {
	case <-accepted: // the client is now waiting for the greeting
	case <-time.After(10 * time.Second):
		t.Fatal("the client never connected")
	}
	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want context.Canceled, got %v", err)
		}
		if d := time.Since(cancelled); d > 2*time.Second {
			t.Errorf("returned %s after the cancellation", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send ignored the cancellation")
	}
}

func TestCancelledBeforeSend(t *testing.T) {
	t.Parallel()
	host, port, accepted := silentListener(t)
	s := newSender(t, Config{Host: host, Port: port, From: "avvisi@coprod.example.it"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, message("<early@coprod>")); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	select {
	case <-accepted:
		t.Error("connected with a cancelled context")
	default:
	}
}

// ---- (6) header injection and invalid messages, refused before connecting

func TestInvalidMessageRefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	host, port := splitAddr(t, l.Addr())
	s := newSender(t, Config{Host: host, Port: port, From: "avvisi@coprod.example.it", Timeout: 2 * time.Second})

	for name, edit := range map[string]func(*notify.Message){
		"no Message-ID":          func(m *notify.Message) { m.MessageID = "" },
		"Message-ID with CRLF":   func(m *notify.Message) { m.MessageID = "<a@b>\r\nBcc: x@evil.example" },
		"Message-ID not <x@y>":   func(m *notify.Message) { m.MessageID = "abc" },
		"Subject with CRLF":      func(m *notify.Message) { m.Subject = "Ciao\r\nBcc: x@evil.example" },
		"Subject with LF":        func(m *notify.Message) { m.Subject = "Ciao\nBcc: x@evil.example" },
		"Subject with CR":        func(m *notify.Message) { m.Subject = "Ciao\rBcc: x@evil.example" },
		"To with CRLF":           func(m *notify.Message) { m.To = "a@example.it\r\nBcc: x@evil.example" },
		"ToName with LF":         func(m *notify.Message) { m.ToName = "Mario\nBcc: x@evil.example" },
		"To not an address":      func(m *notify.Message) { m.To = "mario" },
		"To two addresses":       func(m *notify.Message) { m.To = "a@example.it, b@example.it" },
		"header value with CRLF": func(m *notify.Message) { m.Headers = map[string]string{"X-Ok": "1\r\nBcc: x@evil.example"} },
		"header value with LF":   func(m *notify.Message) { m.Headers = map[string]string{"X-Ok": "1\nBcc: x@evil.example"} },
		"header name with colon": func(m *notify.Message) { m.Headers = map[string]string{"X-A: b\r\nBcc": "x"} },
		"header name with space": func(m *notify.Message) { m.Headers = map[string]string{"X A": "x"} },
		"header name empty":      func(m *notify.Message) { m.Headers = map[string]string{"": "x"} },
		"header name non-ASCII":  func(m *notify.Message) { m.Headers = map[string]string{"X-Città": "x"} },
		"header overriding Bcc":  func(m *notify.Message) { m.Headers = map[string]string{"bcc": "x@evil.example"} },
		"header overriding MID":  func(m *notify.Message) { m.Headers = map[string]string{"Message-Id": "<other@x>"} },
		"body not UTF-8":         func(m *notify.Message) { m.Text = "\xff\xfe" },
	} {
		m := message("<inj@coprod>")
		edit(&m)
		err := s.Send(context.Background(), m)
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: want ErrInvalidMessage, got %v", name, err)
		}
		if IsPermanent(err) {
			t.Errorf("%s: reported as an SMTP refusal: %v", name, err)
		}
	}
	// Had Send connected, the connection would wait in the backlog.
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Error("Send connected for an invalid message")
	}
}

// ---- (7) server down

func TestServerDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port := splitAddr(t, l.Addr())
	l.Close()
	s := newSender(t, Config{Host: host, Port: port, From: "avvisi@coprod.example.it", Timeout: 5 * time.Second})
	err = s.Send(context.Background(), message("<down@coprod>"))
	if err == nil {
		t.Fatal("no error with the server down")
	}
	if IsPermanent(err) {
		t.Errorf("a connection failure is not permanent: %v", err)
	}
	if !strings.Contains(err.Error(), "connect") {
		t.Errorf("error without the step: %v", err)
	}
}

// ---- configuration

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := Config{Host: "smtp.example.it", From: "avvisi@coprod.example.it"}
	for name, edit := range map[string]func(*Config){
		"no host":             func(c *Config) { c.Host = "" },
		"From not an address": func(c *Config) { c.From = "coprod" },
		"From empty":          func(c *Config) { c.From = "" },
		"StartTLS unknown":    func(c *Config) { c.StartTLS = "always" },
		"port out of range":   func(c *Config) { c.Port = 70000 },
		"negative timeout":    func(c *Config) { c.Timeout = -time.Second },
		"Helo with CRLF":      func(c *Config) { c.Helo = "a\r\nRSET" },
		"FromName with LF":    func(c *Config) { c.FromName = "a\nBcc: x" },
		"credentials in clear": func(c *Config) {
			c.Username, c.Password, c.StartTLS = "u", password, StartTLSNone
		},
	} {
		c := ok
		edit(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			noPassword(t, err)
		}
	}
	s, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Port != 587 || s.cfg.StartTLS != StartTLSOpportunistic || s.cfg.Timeout != DefaultTimeout || s.cfg.Helo != "localhost" {
		t.Errorf("defaults: %+v", s.cfg)
	}
	implicit := ok
	implicit.ImplicitTLS = true
	if s, err := New(implicit); err != nil || s.cfg.Port != 465 {
		t.Errorf("implicit TLS default port: %v %v", s, err)
	}
	withName := ok
	withName.From = "Comune di Forlì <avvisi@coprod.example.it>"
	if s, err := New(withName); err != nil || s.from.Address != "avvisi@coprod.example.it" || s.from.Name != "Comune di Forlì" {
		t.Errorf("From with a name: %+v %v", s, err)
	}
}

func TestConfigDoesNotPrintPassword(t *testing.T) {
	t.Parallel()
	c := Config{Host: "smtp.example.it", Username: "u", Password: password, From: "a@b.it"}
	var buf bytes.Buffer
	log.New(&buf, "", 0).Printf("%v %+v %#v %s", c, c, c, c)
	if strings.Contains(buf.String(), password) {
		t.Errorf("the password is printed: %s", buf.String())
	}
}

// ---- composition details

func TestLongASCIISubjectIsFoldedAndEncodedWordLookalikesEncoded(t *testing.T) {
	t.Parallel()
	s := newSender(t, Config{Host: "smtp.example.it", From: "avvisi@coprod.example.it"})
	for _, subj := range []string{
		strings.TrimSpace(strings.Repeat("parola ", 40)),
		"=?UTF-8?Q?finto?= davvero",
		strings.Repeat("x", 1200),
		strings.Repeat("èè ", 100),
	} {
		m := message("<c@coprod>")
		m.Subject = subj
		to, err := recipient(m)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.compose(m, to, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := parse(t, raw)
		var dec mime.WordDecoder
		got, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || got != subj {
			t.Errorf("Subject %q decodes to %q (%v)", subj, got, err)
		}
	}
}
