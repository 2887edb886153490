package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// filesEnv is a server with an app, its admin token and two users.
type filesEnv struct {
	s     *servertest.Server
	admin string
	alice string // alice's user token
	bob   string
	base  string
}

func newFilesEnv(t *testing.T, s *servertest.Server, set tenant.Settings) *filesEnv {
	app := s.App(t, "acme", "chat", set)
	e := &filesEnv{s: s, admin: s.AppToken(t, app), base: "/acme/chat"}
	for _, u := range []string{"alice", "bob"} {
		expect(t, s.Do(t, "POST", e.base+"/users", e.admin, map[string]string{"username": u, "password": "pw"}), 200, "")
	}
	tok := func(u string) string {
		return s.Do(t, "POST", e.base+"/token", "", map[string]string{"grant_type": "password", "username": u, "password": "pw"}).Str("access_token")
	}
	e.alice, e.bob = tok("alice"), tok("bob")
	return e
}

// upload posts content as the multipart part "file" and returns the decoded answer.
func (e *filesEnv) upload(t *testing.T, token, name, partType string, content []byte, headers map[string]string) *servertest.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "ignored")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	if partType != "" {
		h.Set("Content-Type", partType)
	}
	pw, _ := mw.CreatePart(h)
	pw.Write(content)
	mw.Close()
	hs := map[string]string{"Content-Type": mw.FormDataContentType()}
	for k, v := range headers {
		hs[k] = v
	}
	return e.raw(t, "POST", e.base+"/chatfiles", token, buf.Bytes(), hs)
}

// raw sends a request with headers and decodes a JSON answer if there is one.
func (e *filesEnv) raw(t *testing.T, method, path, token string, body []byte, headers map[string]string) *servertest.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.s.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &servertest.Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(raw, &r.Body)
	}
	return r
}

func (e *filesEnv) download(t *testing.T, uuid, token string, headers map[string]string) *servertest.Response {
	t.Helper()
	return e.raw(t, "GET", e.base+"/chatfiles/"+uuid, token, nil, headers)
}

// noisyImage is an image that does not compress well, so its file is large
// enough to get a separate thumbnail.
func noisyImage(w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	return img
}

func encodeImage(t *testing.T, format string, img image.Image) []byte {
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blobFiles counts the files in the local blob directory (S3 runs pass "").
func blobFiles(t *testing.T, dir string) int {
	if dir == "" {
		return -1
	}
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// forEachFilesBackend runs fn on SQLite and PostgreSQL with local files, and
// on SQLite with an S3-compatible store (when one is configured).
func forEachFilesBackend(t *testing.T, fn func(t *testing.T, s *servertest.Server, blobDir string)) {
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			s := servertest.StartBackend(t, b)
			fn(t, s, filepath.Join(s.Cfg.DataDir, "files"))
		})
	}
	t.Run("sqlite+s3", func(t *testing.T) {
		cfg := servertest.Config(t, "sqlite")
		servertest.UseS3(t, &cfg)
		fn(t, servertest.Start(t, cfg), "")
	})
}

func TestFiles_UploadDownload(t *testing.T) {
	forEachFilesBackend(t, func(t *testing.T, s *servertest.Server, blobDir string) {
		e := newFilesEnv(t, s, tenant.Settings{})
		tests := []struct {
			name, format string
			w, h         int
			tw, th       int // requested box (0: default 170)
			wantW, wantH int // thumbnail size (0: the image is its own)
			wantType     string
		}{
			{"png landscape", "png", 800, 400, 100, 100, 100, 50, "image/png"},
			{"jpeg portrait", "jpeg", 300, 600, 0, 0, 85, 170, "image/jpeg"},
			{"gif", "gif", 400, 400, 64, 32, 32, 32, "image/gif"},
			{"small png is its own thumbnail", "png", 20, 10, 0, 0, 0, 0, "image/png"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				content := encodeImage(t, tc.format, noisyImage(tc.w, tc.h))
				hs := map[string]string{}
				if tc.tw != 0 {
					hs["thumbnail-width"], hs["thumbnail-height"] = fmt.Sprint(tc.tw), fmt.Sprint(tc.th)
				}
				r := e.upload(t, e.alice, "pic."+tc.format, "application/octet-stream", content, hs)
				expect(t, r, 200, "")
				ent := r.Entities()[0]
				if ent["type"] != "chatfile" || ent["share-secret"] == "" || ent["file_length"] != float64(len(content)) ||
					ent["content_type"] != tc.wantType || ent["width"] != float64(tc.w) || ent["height"] != float64(tc.h) {
					t.Fatalf("entity: %s", r.Raw)
				}
				if !strings.HasSuffix(ent["url"].(string), "/acme/chat/chatfiles/"+ent["uuid"].(string)) {
					t.Fatalf("url: %v", ent["url"])
				}
				id := ent["uuid"].(string)
				d := e.download(t, id, "", nil)
				if d.Status != 200 || !bytes.Equal(d.Raw, content) || d.Header.Get("Content-Type") != tc.wantType ||
					!strings.HasPrefix(d.Header.Get("Content-Disposition"), "inline") {
					t.Fatalf("download: %d %v (%d bytes)", d.Status, d.Header, len(d.Raw))
				}
				th := e.download(t, id, "", map[string]string{"thumbnail": "true"})
				if th.Status != 200 {
					t.Fatalf("thumbnail: %d %s", th.Status, th.Raw)
				}
				img, _, err := image.Decode(bytes.NewReader(th.Raw))
				if err != nil {
					t.Fatalf("thumbnail does not decode: %v", err)
				}
				wantW, wantH := tc.wantW, tc.wantH
				if wantW == 0 {
					wantW, wantH = tc.w, tc.h
					if !bytes.Equal(th.Raw, content) {
						t.Fatal("a small image should be its own thumbnail")
					}
				}
				if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
					t.Fatalf("thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
				}
			})
		}
	})
}

func TestFiles_RestrictedAndRanges(t *testing.T) {
	forEachFilesBackend(t, func(t *testing.T, s *servertest.Server, blobDir string) {
		e := newFilesEnv(t, s, tenant.Settings{})
		content := make([]byte, 100_000)
		rnd := rand.New(rand.NewPCG(3, 4))
		for i := range content {
			content[i] = byte(rnd.Uint32())
		}
		r := e.upload(t, e.alice, "voice.amr", "", content, map[string]string{"restrict-access": "true"})
		expect(t, r, 200, "")
		ent := r.Entities()[0]
		id, secret := ent["uuid"].(string), ent["share-secret"].(string)
		if ent["restrict_access"] != true || ent["content_type"] != "audio/amr" {
			t.Fatalf("entity: %s", r.Raw)
		}
		expect(t, e.download(t, id, "", nil), 403, "forbidden_op")
		expect(t, e.download(t, id, e.bob, nil), 403, "forbidden_op")
		expect(t, e.download(t, id, "", map[string]string{"share-secret": "wrong"}), 403, "forbidden_op")
		for name, d := range map[string]*servertest.Response{
			"secret header": e.download(t, id, "", map[string]string{"share-secret": secret}),
			"secret query":  e.raw(t, "GET", e.base+"/chatfiles/"+id+"?share-secret="+secret, "", nil, nil),
			"uploader":      e.download(t, id, e.alice, nil),
			"app admin":     e.download(t, id, e.admin, nil),
		} {
			if d.Status != 200 || !bytes.Equal(d.Raw, content) || d.Header.Get("Cache-Control") != "private, no-store" {
				t.Fatalf("%s: %d %v", name, d.Status, d.Header)
			}
		}
		expect(t, e.download(t, "no-such-file", "", nil), 404, "service_resource_not_found")

		ranges := []struct {
			header string
			status int
			want   []byte
		}{
			{"bytes=10-19", 206, content[10:20]},
			{"bytes=99990-", 206, content[99990:]},
			{"bytes=-5", 206, content[len(content)-5:]},
			{"bytes=50000-50000", 206, content[50000:50001]},
			{"bytes=200000-", 416, nil},
		}
		for _, rg := range ranges {
			d := e.download(t, id, "", map[string]string{"share-secret": secret, "Range": rg.header})
			if d.Status != rg.status || (rg.want != nil && !bytes.Equal(d.Raw, rg.want)) {
				t.Fatalf("%s: status %d, %d bytes", rg.header, d.Status, len(d.Raw))
			}
		}
		// An unrestricted file is public and cacheable; a non-media type is
		// served as an attachment.
		r = e.upload(t, e.bob, "page.html", "text/html", []byte("<html><script>alert(1)</script></html>"), nil)
		expect(t, r, 200, "")
		d := e.download(t, r.Entities()[0]["uuid"].(string), "", nil)
		if d.Status != 200 || !strings.HasPrefix(d.Header.Get("Content-Disposition"), "attachment") ||
			d.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(d.Header.Get("Content-Security-Policy"), "sandbox") ||
			!strings.HasPrefix(d.Header.Get("Cache-Control"), "public") {
			t.Fatalf("html download: %d %v", d.Status, d.Header)
		}
	})
}

func TestFiles_BadInput(t *testing.T) {
	forEachFilesBackend(t, func(t *testing.T, s *servertest.Server, blobDir string) {
		e := newFilesEnv(t, s, tenant.Settings{MaxFileBytes: 50_000})
		valid := encodeImage(t, "png", noisyImage(40, 40))
		var truncated bytes.Buffer
		mw := multipart.NewWriter(&truncated)
		pw, _ := mw.CreateFormFile("file", "a.bin")
		pw.Write(bytes.Repeat([]byte("x"), 20_000)) // no closing boundary
		truncType := mw.FormDataContentType()
		tests := []struct {
			name    string
			send    func() *servertest.Response
			status  int
			errCode string
		}{
			{"wrong content type", func() *servertest.Response {
				return e.raw(t, "POST", e.base+"/chatfiles", e.alice, []byte(`{"file":"x"}`), map[string]string{"Content-Type": "application/json"})
			}, 415, "unsupported_media_type"},
			{"truncated multipart", func() *servertest.Response {
				return e.raw(t, "POST", e.base+"/chatfiles", e.alice, truncated.Bytes(), map[string]string{"Content-Type": truncType})
			}, 400, "invalid_request_body"},
			{"no file part", func() *servertest.Response {
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				mw.WriteField("other", "x")
				mw.Close()
				return e.raw(t, "POST", e.base+"/chatfiles", e.alice, b.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
			}, 400, "invalid_request_body"},
			{"oversized file", func() *servertest.Response {
				return e.upload(t, e.alice, "big.bin", "", bytes.Repeat([]byte("y"), 50_001), nil)
			}, 413, "request_entity_too_large"},
			{"image that fails to decode", func() *servertest.Response {
				return e.upload(t, e.alice, "broken.png", "image/png", append(valid[:60:60], bytes.Repeat([]byte{7}, 20_000)...), nil)
			}, 400, "illegal_argument"},
			{"image that claims a huge canvas", func() *servertest.Response {
				return e.upload(t, e.alice, "huge.png", "image/png", hugePNGHeader(100_000, 100_000), nil)
			}, 400, "illegal_argument"},
			{"bad thumbnail size", func() *servertest.Response {
				return e.upload(t, e.alice, "a.png", "", valid, map[string]string{"thumbnail-width": "0"})
			}, 400, "illegal_argument"},
			{"anonymous upload", func() *servertest.Response {
				return e.upload(t, "", "a.png", "", valid, nil)
			}, 401, "unauthorized"},
			{"image message without url", func() *servertest.Response {
				return e.s.Do(t, "POST", e.base+"/messages/users", e.admin, map[string]any{
					"from": "alice", "to": []string{"bob"}, "type": "img", "body": map[string]any{"filename": "a.png"}})
			}, 400, "illegal_argument"},
			{"message naming a file that was never uploaded", func() *servertest.Response {
				return e.s.Do(t, "POST", e.base+"/messages/users", e.admin, map[string]any{
					"from": "alice", "to": []string{"bob"}, "type": "file",
					"body": map[string]any{"url": e.s.URL + "/acme/chat/chatfiles/00000000-0000-0000-0000-000000000000", "filename": "a"}})
			}, 400, "illegal_argument"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := blobFiles(t, blobDir)
				expect(t, tc.send(), tc.status, tc.errCode)
				if after := blobFiles(t, blobDir); after != before {
					t.Fatalf("blob files %d -> %d: something was left behind", before, after)
				}
				if n, _ := s.Files.CollectOrphans(context.Background(), -1<<62); n != 0 {
					t.Fatalf("%d file records were left behind", n)
				}
			})
		}
	})
}

// hugePNGHeader is a PNG signature and IHDR claiming w x h pixels, then junk.
func hugePNGHeader(w, h int) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	// IHDR data starts at byte 16: width and height, big-endian.
	for i, v := range []int{w, h} {
		off := 16 + 4*i
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	return b // the CRC no longer matches, but the size is read first
}

// TestFiles_Lifecycle: a recalled attachment message deletes its file
// unless another message references it; never-sent uploads are collected.
func TestFiles_Lifecycle(t *testing.T) {
	forEachFilesBackend(t, func(t *testing.T, s *servertest.Server, blobDir string) {
		e := newFilesEnv(t, s, tenant.Settings{})
		img := encodeImage(t, "png", noisyImage(300, 300))
		up := e.upload(t, e.alice, "cat.png", "", img, nil)
		expect(t, up, 200, "")
		ent := up.Entities()[0]
		id, url := ent["uuid"].(string), ent["url"].(string)
		send := func() string {
			r := e.s.Do(t, "POST", e.base+"/messages/users", e.admin, map[string]any{
				"from": "alice", "to": []string{"bob"}, "type": "img",
				"body": map[string]any{"url": url, "filename": "cat.png", "secret": ent["share-secret"], "size": map[string]int{"width": 300, "height": 300}}})
			expect(t, r, 200, "")
			return r.Body["data"].(map[string]any)["bob"].(string)
		}
		recall := func(msgID string) {
			r := e.s.Do(t, "POST", e.base+"/messages/msg_recall", e.admin, map[string]any{"msg_id": msgID, "to": "bob", "chat_type": "chat", "force": true})
			expect(t, r, 200, "")
		}
		m1, m2 := send(), send() // forwarded: two messages, one file
		if n := blobFiles(t, blobDir); blobDir != "" && n != 2 {
			t.Fatalf("%d blob files, want the image and its thumbnail", n)
		}
		recall(m1)
		if d := e.download(t, id, "", nil); d.Status != 200 {
			t.Fatalf("file deleted while another message still references it: %d", d.Status)
		}
		recall(m2)
		expect(t, e.download(t, id, "", nil), 404, "service_resource_not_found")
		expect(t, e.download(t, id, "", map[string]string{"thumbnail": "true"}), 404, "service_resource_not_found")
		if n := blobFiles(t, blobDir); blobDir != "" && n != 0 {
			t.Fatalf("%d blob files left after the recall", n)
		}

		// An upload never sent is collected after the grace period.
		orphan := e.upload(t, e.bob, "notes.txt", "", []byte("never sent"), nil)
		expect(t, orphan, 200, "")
		oid := orphan.Entities()[0]["uuid"].(string)
		if n, err := s.Files.CollectOrphans(context.Background(), s.Cfg.Blob.OrphanAfter.D()); err != nil || n != 0 {
			t.Fatalf("collected a fresh upload: %d %v", n, err)
		}
		if n, err := s.Files.CollectOrphans(context.Background(), -1<<62); err != nil || n != 1 {
			t.Fatalf("collect orphans: %d %v", n, err)
		}
		expect(t, e.download(t, oid, "", nil), 404, "service_resource_not_found")
		if blobDir != "" {
			if _, err := os.Stat(filepath.Join(blobDir)); err == nil && blobFiles(t, blobDir) != 0 {
				t.Fatal("the orphan's bytes are still stored")
			}
		}
	})
}

// TestFiles_EarlyRefusal: an upload whose declared length is over the limit
// is refused before its body is read.
func TestFiles_EarlyRefusal(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	e := newFilesEnv(t, s, tenant.Settings{MaxFileBytes: 1000})
	r := e.upload(t, e.alice, "big.bin", "", bytes.Repeat([]byte("z"), 200_000), nil)
	expect(t, r, 413, "request_entity_too_large")
	if r.Str("code") != "file_too_large" {
		t.Fatalf("code: %s", r.Raw)
	}
}
