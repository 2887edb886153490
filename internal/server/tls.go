package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/protocol"
)

// certRecheck is how often, at most, the certificate files are looked at
// for a change (on a handshake, so an idle server does no work).
const certRecheck = time.Second

// certReloader serves the certificate of a cert/key file pair and picks
// up new files without a restart: a handshake at least certRecheck after
// the last look stats both files, and if either changed (modification
// time, size or the file itself, as when a symlink is swapped), loads the
// pair again. A pair that does not load keeps the old certificate in use
// and is logged once; the next change is tried again. Connections already
// established keep the certificate they were made with: nothing is closed.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	cert    atomic.Pointer[tls.Certificate] // served
	checked atomic.Int64                    // UnixNano of the last look

	mu        sync.Mutex // held by the one handshake that looks at the files
	certStamp fileStamp  // of the files the last attempt read
	keyStamp  fileStamp
	// unreadable is set while the files cannot be stat'ed (logged once).
	unreadable bool
}

// fileStamp identifies a version of a file without reading it.
type fileStamp struct {
	mod  time.Time
	size int64
	info os.FileInfo
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), info: fi}, nil
}

func (a fileStamp) same(b fileStamp) bool {
	return a.info != nil && b.info != nil && a.mod.Equal(b.mod) && a.size == b.size && os.SameFile(a.info, b.info)
}

// newCertReloader loads the pair once; an error here stops the start.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	cs, ks, err := r.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert.Store(cert)
	r.certStamp, r.keyStamp = cs, ks
	r.checked.Store(r.now().UnixNano())
	return r, nil
}

func (r *certReloader) stamps() (cert, key fileStamp, err error) {
	if cert, err = stampOf(r.certFile); err != nil {
		return cert, key, fmt.Errorf("tls.cert_file: %w", err)
	}
	if key, err = stampOf(r.keyFile); err != nil {
		return cert, key, fmt.Errorf("tls.key_file: %w", err)
	}
	return cert, key, nil
}

// loadPair reads and parses a certificate chain and its key.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cert_file %s and key_file %s: %w", certFile, keyFile, err)
	}
	return &cert, nil
}

// GetCertificate is the tls.Config hook: the current certificate. If the
// last look at the files is certRecheck old, this handshake looks again
// first; handshakes meanwhile are served the current certificate without
// waiting.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if r.due() && r.mu.TryLock() {
		if r.due() {
			r.checked.Store(r.now().UnixNano())
			r.reload()
		}
		r.mu.Unlock()
	}
	return r.cert.Load(), nil
}

func (r *certReloader) due() bool {
	return r.now().Sub(time.Unix(0, r.checked.Load())) >= certRecheck
}

// reload loads the files if they changed since the last attempt; r.mu
// is held.
func (r *certReloader) reload() {
	cs, ks, err := r.stamps()
	if err != nil {
		// Being replaced right now, or gone: keep serving what we have.
		if !r.unreadable {
			r.log.Error("tls certificate files unreadable; keeping the current certificate", "err", err)
		}
		r.unreadable = true
		return
	}
	r.unreadable = false
	if cs.same(r.certStamp) && ks.same(r.keyStamp) {
		return
	}
	r.certStamp, r.keyStamp = cs, ks
	cert, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Error("new tls certificate files do not load; keeping the current certificate", "err", err)
		return
	}
	r.cert.Store(cert)
	r.log.Info("tls certificate reloaded", certAttrs(cert)...)
}

// certAttrs describes a certificate for the log (public facts only).
func certAttrs(c *tls.Certificate) []any {
	leaf, err := parseLeaf(c)
	if err != nil {
		return nil
	}
	return []any{"subject", leaf.Subject.String(), "dns_names", leaf.DNSNames, "serial", leaf.SerialNumber.String(),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339)}
}

// parseLeaf returns the certificate's first (own) certificate.
func parseLeaf(c *tls.Certificate) (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("empty certificate")
	}
	return x509.ParseCertificate(c.Certificate[0])
}

// tlsConfig is the listener's TLS configuration: TLS 1.2 at least, only
// forward-secret AEAD cipher suites for 1.2 (1.3's are all AEAD and not
// configurable), HTTP/2 and HTTP/1.1 by ALPN (WebSocket clients ask for
// HTTP/1.1), and the certificate from r.
func tlsConfig(r *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}
}

// transportGuard sits in front of every route. It sends
// Strict-Transport-Security on requests that came over TLS (directly or
// through a trusted proxy), and with tls.require refuses plain-HTTP
// requests: those not over TLS, not marked X-Forwarded-Proto: https by a
// trusted proxy, and not from this host. Health checks and metrics carry
// no credentials and are always served, so that load balancers and
// scrapers on plain HTTP keep working.
type transportGuard struct {
	next    http.Handler
	require bool
	hsts    string // the header's value; empty: none
	trusted []netip.Prefix
}

func newTransportGuard(next http.Handler, c config.TLS, trusted []netip.Prefix) *transportGuard {
	g := &transportGuard{next: next, require: c.Require, trusted: trusted}
	if c.HSTS > 0 {
		g.hsts = "max-age=" + strconv.FormatInt(int64(c.HSTS.D()/time.Second), 10)
	}
	return g
}

func (g *transportGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure, local := g.classify(r)
	if secure && g.hsts != "" {
		w.Header().Set("Strict-Transport-Security", g.hsts)
	}
	if g.require && !secure && !local && !alwaysPlain(r.URL.Path) {
		writeTLSRequired(w)
		return
	}
	// Record the scheme the client used in r.URL.Scheme (empty in server
	// requests), for the links answers carry (REST uri, file urls): https
	// also behind a trusted proxy that terminated TLS.
	scheme := "http"
	if secure {
		scheme = "https"
	}
	r2 := *r
	u := *r.URL
	u.Scheme = scheme
	r2.URL = &u
	g.next.ServeHTTP(w, &r2)
}

// classify reports whether r reached Parley over TLS (its own, or a
// trusted proxy's that says so), and whether it came straight from this
// host (a loopback address that is not a trusted proxy).
func (g *transportGuard) classify(r *http.Request) (secure, local bool) {
	if r.TLS != nil {
		return true, false
	}
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false, false
	}
	ip := addr.Addr().Unmap()
	for _, p := range g.trusted {
		if p.Contains(ip) {
			return strings.EqualFold(strings.TrimSpace(lastValue(r.Header.Values("X-Forwarded-Proto"))), "https"), false
		}
	}
	return false, ip.IsLoopback()
}

// lastValue is the last comma-separated element of a header's values:
// the one the nearest proxy (the trusted one) added.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	return v[strings.LastIndex(v, ",")+1:]
}

// alwaysPlain lists the paths served without TLS even under tls.require.
func alwaysPlain(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

func writeTLSRequired(w http.ResponseWriter) {
	k := protocol.ErrTLSRequired
	b, _ := json.Marshal(protocol.ErrorBody{Error: k.Error, Exception: k.Exception, Timestamp: time.Now().UnixMilli(),
		ErrorDescription: "this server accepts only https:// (and wss://) requests", Code: k.ID})
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(k.Status)
	w.Write(b)
}

// httpErrorLog takes net/http's own log lines: warnings, except failed TLS
// handshakes (port scanners, clients that do not trust the certificate or
// speak only old versions), which the internet sends all day: debug.
type httpErrorLog struct{ log *slog.Logger }

func newHTTPErrorLog(l *slog.Logger) *stdlog.Logger { return stdlog.New(httpErrorLog{l}, "", 0) }

func (h httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	h.log.Log(context.Background(), level, msg)
	return len(p), nil
}
