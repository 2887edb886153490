package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// envelope is the Usergrid-style success body (reference §3.1).
type envelope struct {
	Action          string              `json:"action,omitempty"`
	Application     string              `json:"application,omitempty"`
	Path            string              `json:"path,omitempty"`
	URI             string              `json:"uri,omitempty"`
	Params          map[string][]string `json:"params,omitempty"`
	Entities        []any               `json:"entities,omitempty"`
	Data            any                 `json:"data,omitempty"`
	Timestamp       int64               `json:"timestamp"`
	Duration        int64               `json:"duration"`
	Organization    string              `json:"organization,omitempty"`
	ApplicationName string              `json:"applicationName,omitempty"`
	Count           *int                `json:"count,omitempty"`
	Cursor          string              `json:"cursor,omitempty"`
	// Failed lists recipients a send could not reach (Parley addition).
	Failed map[string]string `json:"failed,omitempty"`
}

// origin is scheme://host as the client reached the server: the scheme is
// the one the server's transport guard recorded (https also behind a
// trusted proxy that terminated TLS), else the connection's.
func (c *call) origin() string {
	scheme := c.r.URL.Scheme
	if scheme == "" {
		scheme = "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
	}
	return scheme + "://" + c.r.Host
}

// env starts a full envelope for the call's app.
func (c *call) env(action, path string) *envelope {
	a := c.p.App
	return &envelope{
		Action: action, Application: a.UUID, Path: path, URI: c.origin() + c.r.URL.Path,
		Timestamp: time.Now().UnixMilli(), Duration: time.Since(c.start).Milliseconds(),
		Organization: a.Org, ApplicationName: a.Name,
	}
}

// short is the small envelope some calls answer with (action, timestamp,
// duration only).
func (c *call) short(action string) *envelope {
	return &envelope{Action: action, Timestamp: time.Now().UnixMilli(), Duration: time.Since(c.start).Milliseconds()}
}

func count(n int) *int { return &n }

// userEntity is the Easemob user entity.
type userEntity struct {
	UUID                     string `json:"uuid"`
	Type                     string `json:"type"`
	Created                  int64  `json:"created"`
	Modified                 int64  `json:"modified"`
	Username                 string `json:"username"`
	Activated                bool   `json:"activated"`
	Nickname                 string `json:"nickname,omitempty"`
	NotificationDisplayStyle *int   `json:"notification_display_style,omitempty"`
	NoDisturbing             *bool  `json:"notification_no_disturbing,omitempty"`
	NoDisturbingStart        *int   `json:"notification_no_disturbing_start,omitempty"`
	NoDisturbingEnd          *int   `json:"notification_no_disturbing_end,omitempty"`
}

func entity(u *store.User) userEntity {
	e := userEntity{UUID: u.UUID, Type: "user", Created: u.Created, Modified: u.Modified, Username: u.Username,
		Activated: u.Activated, Nickname: u.Nickname}
	if u.NotificationDisplayStyle >= 0 {
		v := u.NotificationDisplayStyle
		e.NotificationDisplayStyle = &v
	}
	if u.NoDisturbing || u.NoDisturbingStart >= 0 {
		v := u.NoDisturbing
		e.NoDisturbing = &v
	}
	if u.NoDisturbingStart >= 0 {
		v := u.NoDisturbingStart
		e.NoDisturbingStart = &v
	}
	if u.NoDisturbingEnd >= 0 {
		v := u.NoDisturbingEnd
		e.NoDisturbingEnd = &v
	}
	return e
}

// readBody reads the whole request body within the configured limit.
func (s *Server) readBody(c *call) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, c.r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errs.New(protocol.ErrInvalidBody, "request body is larger than %d bytes", s.MaxBodyBytes)
		}
		return nil, errs.New(protocol.ErrInvalidBody, "could not read request body: %v", err)
	}
	return b, nil
}

// decodeBody reads the request body and decodes it strictly into dst.
func (s *Server) decodeBody(c *call, dst any) error {
	raw, err := s.readBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(raw, dst)
}

// decodeJSON decodes b into dst strictly: one JSON value, no unknown fields,
// every type as documented. The error names the offending field.
func decodeJSON(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errs.New(protocol.ErrInvalidBody, "request body is empty; a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errs.New(protocol.ErrInvalidBody, "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return errs.New(protocol.ErrInvalidBody, "request body must be a JSON %s, got %s", jsonType(te.Type.Kind().String()), te.Value)
		}
		return errs.New(protocol.ErrIllegalArgument, "field %s must be a %s, got %s", field, jsonType(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return errs.New(protocol.ErrInvalidBody, "request body is not valid JSON (at byte %d): %v", se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.New(protocol.ErrIllegalArgument, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(protocol.ErrInvalidBody, "request body is truncated JSON")
	}
	return errs.New(protocol.ErrInvalidBody, "request body is not valid JSON: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "uint32", "uint64", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return kind
}

// queryInt reads an optional integer query parameter.
func queryInt(c *call, name string) (int, error) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errs.New(protocol.ErrIllegalArgument, "query parameter %s must be an integer, got %q", name, v)
	}
	return n, nil
}
