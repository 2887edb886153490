// Package demo serves the demo web chat: a small page built on the
// TypeScript SDK (sdk/js), embedded from web/ and served under /demo/, so
// that a newcomer can try Parley in a browser without building anything.
//
// web/sdk/ is a copy of the SDK's ESM build (scripts/demo-sdk.sh makes it;
// scripts/sdk-js.sh fails when it differs from a fresh build). The page
// talks to the server only through the SDK: the WebSocket protocol and the
// app's REST API on the same origin.
package demo

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed web
var webFiles embed.FS

// Prefix is where the demo is mounted.
const Prefix = "/demo/"

// csp allows the page's own scripts and styles only (no inline code, no
// eval), images and media from object URLs of downloaded files, and
// connections to its own origin (REST and the WebSocket endpoint).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler serves the embedded files under Prefix.
type Handler struct {
	files http.Handler
}

// New returns the demo's handler.
func New() *Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return &Handler{files: http.StripPrefix("/demo", http.FileServerFS(sub))}
}

// ServeHTTP serves GET and HEAD for the files (and index.html at Prefix),
// with a strict Content-Security-Policy; no directory listings.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix {
		http.NotFound(w, r)
		return
	}
	h.files.ServeHTTP(w, r)
}
