package provider_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/push/provider/providertest"
)

// fieldsOf returns the fields of every *CredentialError in err.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		var ce *provider.CredentialError
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		} else if errors.As(err, &ce) {
			out = append(out, ce.Field)
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

func pkcs8PEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestNew_Credentials(t *testing.T) {
	fcm := providertest.NewFCM(t)
	apns := providertest.NewAPNs(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	rsaPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))

	// sa returns the fake's service account with changes (nil: delete).
	sa := func(changes map[string]any) json.RawMessage {
		var m map[string]any
		if err := json.Unmarshal(fcm.ServiceAccount(), &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range changes {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	fcmWith := func(changes map[string]any) provider.Credentials {
		return provider.Credentials{Kind: provider.FCM, ServiceAccount: sa(changes)}
	}
	apnsWith := func(change func(*provider.Credentials)) provider.Credentials {
		c := apns.Credentials()
		change(&c)
		return c
	}
	asString, _ := json.Marshal(string(fcm.ServiceAccount()))

	tests := []struct {
		name string
		c    provider.Credentials
		want []string // fields at fault; none: valid
	}{
		{"fcm", fcm.Credentials(), nil},
		{"fcm: service account as a JSON string", provider.Credentials{Kind: provider.FCM, ServiceAccount: asString}, nil},
		{"fcm: PKCS #1 key", fcmWith(map[string]any{"private_key": rsaPKCS1}), nil},
		{"fcm: key with literal \\n", fcmWith(map[string]any{"private_key": strings.ReplaceAll(pkcs8PEM(t, rsaKey), "\n", `\n`)}), nil},
		{"fcm: no token_uri (Google's)", fcmWith(map[string]any{"token_uri": nil}), nil},
		{"fcm: project from Credentials", provider.Credentials{Kind: provider.FCM, ProjectID: "p-1", ServiceAccount: sa(map[string]any{"project_id": nil})}, nil},
		{"fcm: no service account", provider.Credentials{Kind: provider.FCM}, []string{"service_account"}},
		{"fcm: bad JSON", provider.Credentials{Kind: provider.FCM, ServiceAccount: json.RawMessage(`{"type":`)}, []string{"service_account"}},
		{"fcm: google-services.json", fcmWith(map[string]any{"type": "authorized_user"}), []string{"service_account.type"}},
		{"fcm: no project_id", fcmWith(map[string]any{"project_id": nil}), []string{"service_account.project_id"}},
		{"fcm: project_id with a slash", fcmWith(map[string]any{"project_id": "a/b"}), []string{"service_account.project_id"}},
		{"fcm: no client_email", fcmWith(map[string]any{"client_email": nil}), []string{"service_account.client_email"}},
		{"fcm: no private_key", fcmWith(map[string]any{"private_key": nil}), []string{"service_account.private_key"}},
		{"fcm: key not PEM", fcmWith(map[string]any{"private_key": "MIIEvQIBADANBg"}), []string{"service_account.private_key"}},
		{"fcm: EC key", fcmWith(map[string]any{"private_key": pkcs8PEM(t, ecKey)}), []string{"service_account.private_key"}},
		{"fcm: 1024-bit key", fcmWith(map[string]any{"private_key": pkcs8PEM(t, small)}), []string{"service_account.private_key"}},
		{"fcm: relative token_uri", fcmWith(map[string]any{"token_uri": "/token"}), []string{"service_account.token_uri"}},
		{"fcm: bad endpoint", provider.Credentials{Kind: provider.FCM, ServiceAccount: sa(nil), Endpoint: "ftp://x"}, []string{"endpoint"}},
		{"fcm: several at once", fcmWith(map[string]any{"client_email": nil, "private_key": nil, "project_id": nil}),
			[]string{"service_account.client_email", "service_account.private_key", "service_account.project_id"}},

		{"apns", apns.Credentials(), nil},
		{"apns: SEC 1 key", apnsWith(func(c *provider.Credentials) {
			c.KeyP8 = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
		}), nil},
		{"apns: no key", apnsWith(func(c *provider.Credentials) { c.KeyP8 = "" }), []string{"key_p8"}},
		{"apns: RSA key", apnsWith(func(c *provider.Credentials) { c.KeyP8 = pkcs8PEM(t, rsaKey) }), []string{"key_p8"}},
		{"apns: P-384 key", apnsWith(func(c *provider.Credentials) { c.KeyP8 = pkcs8PEM(t, p384) }), []string{"key_p8"}},
		{"apns: certificate instead", apnsWith(func(c *provider.Credentials) {
			c.KeyP8 = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
		}), []string{"key_p8"}},
		{"apns: broken key", apnsWith(func(c *provider.Credentials) {
			c.KeyP8 = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
		}), []string{"key_p8"}},
		{"apns: no key_id, team_id, topic", apnsWith(func(c *provider.Credentials) { c.KeyID, c.TeamID, c.Topic = "", " ", "" }),
			[]string{"key_id", "team_id", "topic"}},
		{"apns: http endpoint", apnsWith(func(c *provider.Credentials) { c.Endpoint = "http://127.0.0.1:1" }), []string{"endpoint"}},

		{"webhook", provider.Credentials{Kind: provider.Webhook, URL: "https://example.com/push"}, nil},
		{"webhook: http", provider.Credentials{Kind: provider.Webhook, URL: "http://10.0.0.1:8080/push", Secret: "s"}, nil},
		{"webhook: no url", provider.Credentials{Kind: provider.Webhook}, []string{"url"}},
		{"webhook: relative url", provider.Credentials{Kind: provider.Webhook, URL: "/push"}, []string{"url"}},
		{"webhook: ftp url", provider.Credentials{Kind: provider.Webhook, URL: "ftp://example.com/push"}, []string{"url"}},
		{"webhook: no host", provider.Credentials{Kind: provider.Webhook, URL: "https:///push"}, []string{"url"}},
		{"webhook: user info", provider.Credentials{Kind: provider.Webhook, URL: "https://u:p@example.com/"}, []string{"url"}},

		{"log", provider.Credentials{Kind: provider.Log}, nil},
		{"unknown kind", provider.Credentials{Kind: "hms"}, []string{"provider"}},
		{"no kind", provider.Credentials{}, []string{"provider"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := provider.New(tt.c, provider.Options{})
			if tt.want == nil {
				if err != nil || p == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted the credentials, want errors for %v", tt.want)
			}
			if got := fieldsOf(err); !slices.Equal(got, tt.want) {
				t.Errorf("fields %v, want %v (err: %v)", got, tt.want, err)
			}
			for _, f := range tt.want {
				if !strings.Contains(err.Error(), f+":") {
					t.Errorf("the message %q does not name %s", err, f)
				}
			}
			if strings.Contains(err.Error(), "MII") {
				t.Errorf("the message %q shows key material", err)
			}
		})
	}
}
