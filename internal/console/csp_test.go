package console_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
)

// The console's pages are served with console.PageCSP; index.html's meta
// policy is the same (less frame-ancestors, which a meta tag cannot set);
// everything the page loads is on its own origin, and nothing in it needs
// inline code or styles. API answers get a policy that renders nothing.
func TestConsole_ContentSecurityPolicy(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/console/")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != console.PageCSP {
		t.Fatalf("index: %d, policy %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*;", "'strict-dynamic'"} {
		if strings.Contains(console.PageCSP, bad) {
			t.Fatalf("policy allows %s", bad)
		}
	}
	meta := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if meta == nil || meta[1]+"; frame-ancestors 'none'" != console.PageCSP {
		t.Fatalf("index.html's policy %q differs from the header's %q", meta, console.PageCSP)
	}
	for _, inline := range []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>[^<]`), // a script with a body
		regexp.MustCompile(`<script(?:\s(?:type="module"|src="[^"]*"))*>`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?:href|src)="javascript:`),
	} {
		if m := inline.FindString(page); m != "" && !strings.Contains(m, "src=") {
			t.Fatalf("index.html has inline code or style: %q", m)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("found only %v in index.html", refs)
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref[1], "/console/") {
			t.Fatalf("index.html loads %q, not a file of the console", ref[1])
		}
		resp, _ := get(ref[1])
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != console.PageCSP {
			t.Fatalf("%s: %d, policy %q", ref[1], resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	resp, _ = get("/console/api/session")
	if p := resp.Header.Get("Content-Security-Policy"); p != "default-src 'none'; frame-ancestors 'none'" {
		t.Fatalf("API policy %q", p)
	}
}
