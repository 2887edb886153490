package rest_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/transport/rest"
)

// fuzzContentTypes are the body encodings FuzzRoutes tries: JSON (most
// routes), forms (the token endpoint, user attributes) and multipart
// (uploads), with a fixed boundary the seeds use.
var fuzzContentTypes = []string{"application/json", "application/x-www-form-urlencoded",
	"multipart/form-data; boundary=B", ""}

// checkAnswer fails on a 5xx or an error answer outside the API's error
// shape (HEAD has no body; 2xx downloads and metrics are not JSON; the mux
// redirects unclean paths).
func checkAnswer(t *testing.T, method string, g rest.Gate, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body.String())
	}
	if method == "HEAD" || rec.Code < 300 && (g == rest.GateFile || g == rest.GateNone) {
		return
	}
	if rec.Code >= 300 && rec.Code < 400 && rec.Header().Get("Location") != "" {
		return // the mux's redirect to a clean path ("/users/." -> "/users/")
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: status %d, non-JSON answer %q", what, rec.Code, rec.Body.String())
	}
	if rec.Code >= 400 && (m["error"] == nil || m["error_description"] == nil || m["code"] == nil) {
		t.Fatalf("%s: error answer not in the error shape: %s", what, rec.Body.String())
	}
}

// FuzzRoutes feeds arbitrary bodies, path segments, query strings, callers
// and content types to every REST route through the router, on an app with users, a
// group, a room and a message: no 5xx, no panic, errors in the API's shape.
// The seeds are the authorization matrix's requests.
func FuzzRoutes(f *testing.F) {
	s := servertest.StartBackend(f, "sqlite")
	w := newWorld(f, s, "")
	routes := s.Routes()
	for i, r := range routes {
		body := ""
		if tc, ok := authzMatrix[r.Key()]; ok {
			body = w.expand(tc.body)
		}
		f.Add(uint16(i), uint8(1), uint8(0), "x", "", []byte(body))
		f.Add(uint16(i), uint8(2), uint8(0), "alice", "limit=1&cursor=zz&pagenum=-1&pagesize=100000", []byte(body))
		if r.Gate == rest.GateAdmin {
			f.Add(uint16(i), uint8(4), uint8(0), "x", "", []byte(`{"name":"fz","open_registration":true}`))
		}
	}
	f.Add(uint16(3), uint8(0), uint8(1), "", "", []byte("grant_type=password&username=alice&password=pw&ttl=1e9"))
	f.Add(uint16(0), uint8(2), uint8(2), "", "share-secret=x&thumbnail=true",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhi\r\n--B--\r\n"))
	h := s.Handler()
	mgmt := s.Do(f, "POST", "/management/token", "", map[string]any{"grant_type": "password", "username": "owner",
		"password": servertest.OwnerPassword}).Str("access_token") // for the /management routes
	tokens := []string{"", w.tok[admin], w.tok[alice], w.tok[carol], mgmt}
	f.Fuzz(func(t *testing.T, idx uint16, caller, ctype uint8, seg, query string, body []byte) {
		r := routes[int(idx)%len(routes)]
		if seg == "" {
			seg = "x"
		}
		path := r.Pattern
		for _, p := range []struct{ param, val string }{
			{"{org}", "authz"}, {"{app}", strings.TrimPrefix(w.base, "/authz/")},
			{"{id}", map[bool]string{true: w.room, false: w.group}[strings.Contains(path, "chatroom")]},
		} {
			path = strings.ReplaceAll(path, p.param, p.val)
		}
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + url.PathEscape(seg) + path[j+1:]
		}
		req := httptest.NewRequest(r.Method, path, bytes.NewReader(body))
		req.URL.RawQuery = query // as the server would pass it on, unparsed
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if tok := tokens[int(caller)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, r.Method, r.Gate, rec, r.Method+" "+path)
	})
}

// FuzzUpload feeds arbitrary multipart bodies, boundaries and upload
// headers to the upload route (the multipart parser, the part's headers,
// content sniffing, thumbnails).
func FuzzUpload(f *testing.F) {
	s := servertest.StartBackend(f, "sqlite")
	w := newWorld(f, s, "")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("B")
	fw, _ := mw.CreateFormFile("file", "note.txt")
	fw.Write([]byte("hello"))
	mw.WriteField("other", "x")
	mw.Close()
	f.Add("multipart/form-data; boundary=B", "", "", buf.Bytes())
	f.Add("multipart/form-data; boundary=B", "true", "64", buf.Bytes())
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
	f.Add("multipart/form-data; boundary=B", "false", "0",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"+png+"\r\n--B--\r\n"))
	f.Add("multipart/form-data", "", "", []byte("--\r\n"))
	f.Add("multipart/form-data; boundary=\"\"", "", "x", []byte{})
	h := s.Handler()
	f.Fuzz(func(t *testing.T, ctype, restrict, thumb string, body []byte) {
		req := httptest.NewRequest("POST", w.base+"/chatfiles", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.tok[alice])
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("restrict-access", restrict)
		req.Header.Set("thumbnail-width", thumb)
		req.Header.Set("thumbnail-height", thumb)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, "POST", rest.GateApp, rec, "upload")
		if rec.Code == http.StatusOK {
			var m struct {
				Entities []struct {
					UUID string `json:"uuid"`
				} `json:"entities"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &m) != nil || len(m.Entities) != 1 || m.Entities[0].UUID == "" {
				t.Fatalf("upload answered 200 without a file: %s", rec.Body.String())
			}
		}
	})
}

// FuzzTokenForm feeds arbitrary form bodies to the token endpoint (it takes
// application/x-www-form-urlencoded as well as JSON).
func FuzzTokenForm(f *testing.F) {
	s := servertest.StartBackend(f, "sqlite")
	w := newWorld(f, s, "")
	for _, seed := range []string{"grant_type=password&username=alice&password=pw",
		"grant_type=password&username=alice&password=pw&ttl=60&autoCreateUser=false",
		"grant_type=client_credentials&client_id=x&client_secret=y", "ttl=-1", "autoCreateUser=maybe", "%zz", "a=1;b=2", "{"} {
		f.Add(seed)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", w.base+"/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, "POST", rest.GateApp, rec, "token")
	})
}
