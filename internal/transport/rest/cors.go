package rest

import (
	"net/http"
	"slices"
	"strconv"
)

// CORS lets browser pages on the configured origins call the API: tokens
// travel in the Authorization header (no cookies), so credentials mode is
// not needed and "*" is safe to offer. Preflights are answered here, before
// routing; a request from an origin not on the list gets no CORS headers
// and the browser refuses the answer to the page.
type CORS struct {
	Origins []string // exact origins, or "*"
}

const (
	corsMethods = "GET, POST, PUT, DELETE, PATCH, OPTIONS"
	corsHeaders = "Authorization, Content-Type, X-Request-Id, Range, restrict-access, thumbnail-height, thumbnail-width, share-secret, thumbnail, accept"
	corsExpose  = "X-Request-Id, Retry-After, Content-Range, Content-Length, Content-Disposition"
	corsMaxAge  = 600 // seconds a browser may cache a preflight
)

// allowed returns the Access-Control-Allow-Origin value for origin, or "".
func (c *CORS) allowed(origin string) string {
	if c == nil || origin == "" {
		return ""
	}
	if slices.Contains(c.Origins, "*") {
		return "*"
	}
	if slices.Contains(c.Origins, origin) {
		return origin
	}
	return ""
}

// handle sets the CORS headers of a request and reports whether it was a
// preflight, answered already.
func (c *CORS) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allow := c.allowed(origin)
	if allow == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
	return false
}
