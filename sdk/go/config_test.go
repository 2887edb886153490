package parley

import (
	"strings"
	"testing"
)

func TestWSURL(t *testing.T) {
	tests := []struct {
		base, want, err string
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws?v=1", ""},
		{"https://im.example.com", "wss://im.example.com/ws?v=1", ""},
		{"https://im.example.com/parley/", "wss://im.example.com/parley/ws?v=1", ""},
		{"http://u:p@host:1/?x=1#f", "ws://host:1/ws?v=1", ""},
		{"ws://host:1", "ws://host:1/ws?v=1", ""},
		{"ftp://host", "", "scheme"},
		{"http://", "", "no host"},
	}
	for _, tt := range tests {
		got, err := wsURL(tt.base)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("wsURL(%q) err = %v, want %q", tt.base, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("wsURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}

func TestConfig_WithDefaults(t *testing.T) {
	ok := Config{BaseURL: "http://h:1", Org: "o", App: "a", Token: "t"}
	tests := []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"token", func(*Config) {}, ""},
		{"password", func(c *Config) { c.Token, c.Username, c.Password = "", "u", "p" }, ""},
		{"endpoints only", func(c *Config) { c.BaseURL, c.Endpoints = "", []string{"http://h:2"} }, ""},
		{"no url", func(c *Config) { c.BaseURL = "" }, "BaseURL is required"},
		{"bad url", func(c *Config) { c.Endpoints = []string{"tcp://x"} }, "scheme"},
		{"no app", func(c *Config) { c.App = "" }, "Org and App"},
		{"no credentials", func(c *Config) { c.Token = "" }, "Token, or Username and Password"},
		{"sync latest", func(c *Config) { c.SyncLatest = 101 }, "SyncLatest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			got, err := c.withDefaults()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.BackoffMin != defaultBackoffMin || got.BackoffMax != defaultBackoffMax || got.State == nil ||
				got.SyncLatest != 20 || got.Logger == nil || got.HTTPClient == nil {
				t.Fatalf("defaults not applied: %+v", got)
			}
		})
	}
}

func TestConfig_Endpoints(t *testing.T) {
	c := Config{BaseURL: "http://a:1/", Endpoints: []string{"http://b:1", "http://a:1", ""}}
	if got := c.endpoints(); strings.Join(got, " ") != "http://a:1 http://b:1" {
		t.Fatalf("endpoints = %q", got)
	}
}
