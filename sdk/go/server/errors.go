package parleyserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Error is a failure answered by the server in Easemob's error shape.
//
// errors.Is(err, &Error{Code: c}) and IsCode(err, kind) match any *Error
// with the same Code.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Type is Easemob's "error" field, such as "forbidden_op".
	Type string
	// Exception is Easemob's "exception" field.
	Exception string
	// Description is "error_description".
	Description string
	// Code is Parley's registry ID (docs/errors.md), such as
	// protocol.ErrGroupNotFound.ID; it tells apart kinds that share Type.
	Code string
	// RequestID is the X-Request-Id of the response (it appears on every
	// server log line of the request).
	RequestID string
	// RetryAfter is the Retry-After header of a 429 or 503, if any.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	if e.Description == "" {
		return fmt.Sprintf("parleyserver: %d %s", e.Status, code)
	}
	return fmt.Sprintf("parleyserver: %d %s: %s", e.Status, code, e.Description)
}

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// IsCode reports whether err is (or wraps) an *Error of the given kind.
func IsCode(err error, kind protocol.ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == kind.ID
}

// ErrInvalidArgument is wrapped by the errors of calls refused before any
// request because an argument is missing or out of range.
var ErrInvalidArgument = errors.New("parleyserver: invalid argument")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// decodeError builds the *Error of a non-2xx response.
func decodeError(resp *http.Response, raw []byte) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var b protocol.ErrorBody
	if json.Unmarshal(raw, &b) == nil {
		e.Type, e.Exception, e.Description, e.Code = b.Error, b.Exception, b.ErrorDescription, b.Code
	}
	if e.Type == "" {
		e.Type = http.StatusText(resp.StatusCode)
		if len(raw) > 0 && len(raw) <= 200 {
			e.Description = string(raw)
		}
	}
	return e
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
