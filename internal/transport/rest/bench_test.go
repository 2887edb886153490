package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// Benchmarks run over real HTTP against a real server with the production
// password-hashing cost (Argon2id, 19 MiB, 2 passes): registration and the
// password grant are bound by that cost on purpose.
//
//	go test ./internal/transport/rest -run '^$' -bench . -benchtime 3s
func benchServer(b *testing.B, backend string) (*servertest.Server, string) {
	return benchServerKDF(b, backend, true)
}

// benchServerKDF with prodKDF false keeps the test suite's 1 MiB, 1-pass
// Argon2id, to show what the rest of the request path costs.
func benchServerKDF(b *testing.B, backend string, prodKDF bool) (*servertest.Server, string) {
	cfg := servertest.Config(b, backend)
	if prodKDF {
		def := config.Default()
		cfg.Auth.KDFTime, cfg.Auth.KDFMemoryKiB = def.Auth.KDFTime, def.Auth.KDFMemoryKiB
	}
	cfg.Log.Level = "error"
	cfg.SQLite.Synchronous = "full"
	s := servertest.Start(b, cfg)
	app := s.App(b, "bench", "app", tenant.Settings{})
	return s, s.AppToken(b, app)
}

var seq atomic.Int64

func BenchmarkRegisterUser(b *testing.B) {
	for _, run := range []struct {
		name string
		prod bool
	}{{"", true}, {"/cheap-kdf", false}} {
		for _, backend := range servertest.Backends {
			b.Run(backend+run.name, func(b *testing.B) {
				benchRegister(b, backend, run.prod)
			})
		}
	}
}

func benchRegister(b *testing.B, backend string, prodKDF bool) {
	s, tok := benchServerKDF(b, backend, prodKDF)
	b.SetParallelism(4) // 4 x GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("u%d", seq.Add(1))
			if r := s.Do(b, "POST", "/bench/app/users", tok, map[string]string{"username": name, "password": "pw"}); r.Status != 200 {
				b.Fatalf("%d %s", r.Status, r.Raw)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/s")
}

func BenchmarkToken(b *testing.B) {
	for _, backend := range servertest.Backends {
		s, tok := benchServer(b, backend)
		s.Do(b, "POST", "/bench/app/users", tok, map[string]string{"username": "alice", "password": "pw"})
		app, _ := s.Apps.Resolve(b.Context(), "bench", "app")
		grants := map[string]map[string]any{
			"password":           {"grant_type": "password", "username": "alice", "password": "pw"},
			"inherit":            {"grant_type": "inherit", "username": "alice"},
			"client_credentials": {"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": "wrong"},
		}
		for _, g := range []string{"password", "inherit", "client_credentials"} {
			b.Run(backend+"/"+g, func(b *testing.B) {
				body := grants[g]
				auth := ""
				switch g {
				case "inherit":
					auth = tok
				case "client_credentials":
					// The secret is shown once at creation; rotate to learn one
					// (this revokes tok, which the inherit run has finished with).
					c, _ := s.Apps.RotateSecret(b.Context(), "bench", "app")
					body["client_secret"] = c.ClientSecret
				}
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if r := s.Do(b, "POST", "/bench/app/token", auth, body); r.Status != 200 {
							b.Fatalf("%d %s", r.Status, r.Raw)
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkFiles uploads and downloads a 10 MB file over real HTTP, with
// local-disk and S3 storage (MB/s from b.SetBytes). The upload is
// incompressible random bytes, so no thumbnail work is involved.
//
//	go test ./internal/transport/rest -run '^$' -bench Files -benchtime 20x
func BenchmarkFiles(b *testing.B) {
	const size = 10 << 20
	content := make([]byte, size)
	rnd := rand.New(rand.NewPCG(5, 6))
	for i := range content {
		content[i] = byte(rnd.Uint32())
	}
	for _, store := range []string{"local", "s3"} {
		b.Run(store, func(b *testing.B) {
			cfg := servertest.Config(b, "sqlite")
			cfg.Log.Level = "error"
			if store == "s3" {
				servertest.UseS3(b, &cfg)
			}
			s := servertest.Start(b, cfg)
			app := s.App(b, "bench", "app", tenant.Settings{MaxFileBytes: size})
			tok := s.AppToken(b, app)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			pw, _ := mw.CreateFormFile("file", "blob.bin")
			pw.Write(content)
			mw.Close()
			upload := func() string {
				req, _ := http.NewRequest("POST", s.URL+"/bench/app/chatfiles", bytes.NewReader(body.Bytes()))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				var out struct {
					Entities []struct{ UUID string } `json:"entities"`
				}
				if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
					b.Fatalf("upload: %d %v", res.StatusCode, err)
				}
				return out.Entities[0].UUID
			}
			b.Run("upload", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					upload()
				}
			})
			id := upload()
			b.Run("download", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					res, err := http.Get(s.URL + "/bench/app/chatfiles/" + id)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if n != size {
						b.Fatalf("downloaded %d bytes", n)
					}
				}
			})
		})
	}
}
