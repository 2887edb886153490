package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary TOML files, environment values and flag values
// to Load: it must never panic, and whatever it accepts must validate and
// print as a sample that loads back.
func FuzzLoad(f *testing.F) {
	f.Add(Sample(Default()), uint8(0), "", "")
	f.Add("listen = \"127.0.0.1:1111\"\n[log]\nlevel = \"debug\"\n", uint8(3), "json", "--log-level=warn")
	f.Add("[auth]\napp_token_ttl = \"-1h\"\n", uint8(7), "1e99", "--http-max-body-bytes=-1")
	f.Add("node_id = 99999999999999999999\n", uint8(200), "\x00", "--nats=nats://a:1,")
	f.Add("[http]\ncors_origins = [1, 2]\n", uint8(42), "https://x", "--db=postgres://")
	f.Add("[[log]]\n", uint8(1), "x", "--")
	dir := f.TempDir()
	settings := Settings(&Config{})
	f.Fuzz(func(t *testing.T, file string, pick uint8, envVal, flagArg string) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("Load hangs on file %q env %q flags %q", file, envVal, flagArg))
			}
		}()
		path := filepath.Join(dir, "parley.toml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		name := settings[int(pick)%len(settings)].Env
		getenv := func(k string) string {
			if k == name {
				return envVal
			}
			return ""
		}
		args := []string{"--config", path}
		if flagArg != "" {
			args = append(args, strings.Fields(flagArg)...)
		}
		c, _, err := Load("parley", args, getenv)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a config that does not validate: %v", err)
		}
		// Accepted settings print as a sample that loads back.
		if err := os.WriteFile(path, []byte(Sample(c)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Load("parley", []string{"--config", path}, func(string) string { return "" }); err != nil {
			t.Fatalf("the sample of an accepted config does not load: %v\n%s", err, Sample(c))
		}
	})
}
