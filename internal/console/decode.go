package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/protocol"
)

// decode reads the call's body (within the size limit) and decodes it
// strictly into dst. An empty body decodes as {} (several changes need
// nothing), so dst keeps its zero value.
func (c *call) decode(dst any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, c.r.Body, c.h.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.New(protocol.ErrInvalidBody, "request body is larger than %d bytes", c.h.MaxBodyBytes)
		}
		return errs.New(protocol.ErrInvalidBody, "could not read request body: %v", err)
	}
	return decodeJSON(raw, dst)
}

// decodeJSON decodes b into dst: one JSON object, no unknown fields, every
// type as documented. The error names the offending field.
func decodeJSON(b []byte, dst any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil
	}
	if t[0] != '{' {
		return errs.New(protocol.ErrInvalidBody, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return errs.New(protocol.ErrIllegalArgument, "field %s must be a %s, got %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
		case errors.As(err, &te):
			return errs.New(protocol.ErrInvalidBody, "request body must be a JSON object, got %s", te.Value)
		case errors.As(err, &se):
			return errs.New(protocol.ErrInvalidBody, "request body is not valid JSON (at byte %d)", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errs.New(protocol.ErrIllegalArgument, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errs.New(protocol.ErrInvalidBody, "request body is truncated JSON")
		}
		return errs.New(protocol.ErrInvalidBody, "request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errs.New(protocol.ErrInvalidBody, "request body has data after the JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "uint32", "uint64", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return kind
}

// required fails when a body field is missing.
func required(field string, ok bool) error {
	if !ok {
		return errs.New(protocol.ErrIllegalArgument, "%s must be provided", field)
	}
	return nil
}

// query returns a query parameter.
func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// queryInt64 reads an optional integer query parameter (0 when absent).
func (c *call) queryInt64(name string) (int64, error) {
	v := c.query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errs.New(protocol.ErrIllegalArgument, "query parameter %s must be an integer, got %q", name, v)
	}
	return n, nil
}

// limit reads the page size: DefaultLimit when absent, at most max (a
// domain's own page limit when it is below MaxLimit; a page may then hold
// fewer items than asked, with a cursor to go on).
func (c *call) limit(max int) (int, error) {
	n, err := c.queryInt64("limit")
	if err != nil {
		return 0, err
	}
	switch {
	case n == 0:
		n = DefaultLimit
	case n < 1 || n > MaxLimit:
		return 0, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d, got %d", MaxLimit, n)
	}
	return min(int(n), max), nil
}

// page is a list answer.
type page struct {
	Items  any    `json:"items"`
	Cursor string `json:"cursor"`
}

// empty is the answer of changes that return nothing.
type empty struct{}
