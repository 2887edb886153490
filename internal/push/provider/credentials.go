package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options are what a provider needs besides its credentials. The zero value
// is ready for production.
type Options struct {
	// HTTPClient sends the requests; nil: a client of the provider's own
	// (HTTP/2 only for APNs, 30 s timeout). Whatever the client, redirects
	// are never followed: a push service that redirects is misconfigured,
	// and following would hand the bearer token to another host.
	HTTPClient *http.Client
	// Now is the clock for tokens (issue and expiry times, caching),
	// apns-expiration and Retry-After dates; nil: time.Now.
	Now func() time.Time
	// Log is where the log provider writes; nil: slog.Default(). Either
	// way its records carry component=push.
	Log *slog.Logger
}

// CredentialError is one problem with one field of Credentials. New
// returns every problem it finds, joined (errors.As finds the first).
// Field is the JSON name, with a dot into the service account:
// "key_p8", "service_account.private_key".
type CredentialError struct {
	Field  string
	Reason string
}

func (e *CredentialError) Error() string {
	return "push credentials: " + e.Field + ": " + e.Reason
}

// ErrCredentialsRejected is wrapped by Send's error when the service
// refused the provider's own credentials even after a fresh token: the
// service account or key was revoked, or the key ID, team ID or project do
// not belong together. Every send through these credentials will fail the
// same way until they are replaced, so the caller should stop using them
// (not drop the device's binding).
var ErrCredentialsRejected = errors.New("push: the service rejected the credentials")

// New checks c and returns the provider it describes. Errors are
// *CredentialError values (joined when there are several) naming the
// field at fault; nothing is sent over the network.
func New(c Credentials, opts Options) (Provider, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch c.Kind {
	case FCM:
		return newFCM(c, opts)
	case APNs:
		return newAPNs(c, opts)
	case Webhook:
		return newWebhook(c, opts)
	case Log:
		return newLog(opts), nil
	case "":
		return nil, &CredentialError{Field: "provider", Reason: "missing (want fcm, apns, webhook or log)"}
	default:
		return nil, &CredentialError{Field: "provider", Reason: fmt.Sprintf("unknown kind %q (want fcm, apns, webhook or log)", c.Kind)}
	}
}

// problems collects CredentialErrors.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &CredentialError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (p problems) err() error { return errors.Join(p...) }

// checkURL reports raw unless it is an absolute http(s) URL with a host
// (https only when httpsOnly).
func (p *problems) checkURL(field, raw string, httpsOnly bool) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		p.add(field, "not a URL: %v", err)
	case httpsOnly && u.Scheme != "https":
		p.add(field, "%q is not an absolute https URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		p.add(field, "%q is not an absolute http(s) URL", raw)
	case u.Host == "":
		p.add(field, "%q has no host", raw)
	case u.User != nil:
		p.add(field, "must not carry user info")
	}
}

// pemBlock decodes the first PEM block of text; a key pasted with literal
// "\n" sequences (a common accident of JSON and environment variables) is
// accepted too.
func pemBlock(text string) (*pem.Block, error) {
	b, _ := pem.Decode([]byte(text))
	if b == nil && strings.Contains(text, `\n`) {
		b, _ = pem.Decode([]byte(strings.ReplaceAll(text, `\n`, "\n")))
	}
	if b == nil {
		return nil, errors.New("not a PEM block (want -----BEGIN PRIVATE KEY-----)")
	}
	return b, nil
}

// parseKey reads a private key in PEM: PKCS #8, or the older form whose
// block type is alt, read by parseAlt.
func parseKey(text, alt string, parseAlt func([]byte) (any, error)) (any, error) {
	b, err := pemBlock(text)
	if err != nil {
		return nil, err
	}
	var key any
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case alt:
		key, err = parseAlt(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("not a valid private key: %v", err)
	}
	return key, nil
}

// parseRSAKey reads an RSA private key in PEM (PKCS #8, or PKCS #1) of at
// least 2048 bits, as Google issues them.
func parseRSAKey(text string) (*rsa.PrivateKey, error) {
	key, err := parseKey(text, "RSA PRIVATE KEY", func(der []byte) (any, error) { return x509.ParsePKCS1PrivateKey(der) })
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA private key (%s)", keyKind(key))
	}
	if bits := rk.N.BitLen(); bits < 2048 {
		return nil, fmt.Errorf("RSA key of %d bits, want at least 2048", bits)
	}
	return rk, nil
}

// parseP256Key reads a P-256 EC private key in PEM: PKCS #8 (Apple's .p8
// files) or SEC 1.
func parseP256Key(text string) (*ecdsa.PrivateKey, error) {
	key, err := parseKey(text, "EC PRIVATE KEY", func(der []byte) (any, error) { return x509.ParseECPrivateKey(der) })
	if err != nil {
		return nil, err
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an EC private key (%s)", keyKind(key))
	}
	if ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("EC key on %s, want P-256", ek.Curve.Params().Name)
	}
	return ek, nil
}

func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PrivateKey:
		return "EC"
	default:
		return fmt.Sprintf("%T", key)
	}
}
