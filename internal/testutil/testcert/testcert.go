// Package testcert makes throwaway TLS certificates for tests: a
// self-signed certificate for 127.0.0.1, ::1 and localhost, written as PEM
// files, with a pool that trusts it. Standard library only, so any
// package's tests can use it.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Pair is a generated certificate and its key.
type Pair struct {
	CertPEM, KeyPEM []byte
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// Pool trusts Leaf (it is its own CA).
	Pool *x509.CertPool
}

// New makes a self-signed ECDSA P-256 certificate valid for an hour for
// 127.0.0.1, ::1 and localhost; name is its subject's common name.
func New(t testing.TB, name string) *Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Leaf:    leaf,
		Pool:    x509.NewCertPool(),
	}
	p.Pool.AddCert(leaf)
	return p
}

// Files writes the pair as dir/NAME.crt and dir/NAME.key (NAME the
// subject's common name) and returns their paths.
func (p *Pair) Files(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile = filepath.Join(dir, p.Leaf.Subject.CommonName+".crt")
	keyFile = filepath.Join(dir, p.Leaf.Subject.CommonName+".key")
	p.Write(t, certFile, keyFile)
	return certFile, keyFile
}

// Write writes the pair to certFile and keyFile, each replaced at once
// (written beside it, then renamed over it), as certificate tools do.
func (p *Pair) Write(t testing.TB, certFile, keyFile string) {
	t.Helper()
	for _, f := range []struct {
		path string
		b    []byte
	}{{certFile, p.CertPEM}, {keyFile, p.KeyPEM}} {
		tmp := f.path + ".new"
		if err := os.WriteFile(tmp, f.b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

// ClientConfig is a client TLS configuration that trusts only p.
func (p *Pair) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}
}
