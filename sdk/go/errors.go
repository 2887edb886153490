package parley

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Error is a failure reported by the server: an error frame answering a
// request, or a REST error body. Code is an ID of the protocol error
// registry, such as protocol.ErrRecallWindow.ID.
//
// errors.Is(err, &parley.Error{Code: c}) and IsCode(err, kind) match any
// *Error with the same Code.
type Error struct {
	Code    string
	Message string
	// RetryAfter, on rate_limited, is how long the server asks to wait
	// before retrying (a refused send stored nothing: resend it, with
	// the same client_msg_id, after that long). Zero when not given.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "parley: " + e.Code
	}
	return "parley: " + e.Code + ": " + e.Message
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

// ErrorCode returns the registry ID of the *Error in err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// CloseError is a connection closed by the server with a code after which
// the Client stops reconnecting: 4001 (token refused), 4003 (protocol
// version), 4004 (forced logout), 4005 (resource replaced), 4006 (device
// limit) or 4010 (malformed frames).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("parley: connection closed by the server: %d %s", e.Code, e.Reason)
}

var (
	// ErrClosed is returned by calls on a Client that was closed.
	ErrClosed = errors.New("parley: client closed")
	// ErrConnectionLost is returned by a request whose connection dropped
	// before the reply, when the request is not safe to repeat (Recall,
	// Ping, sends with RouteOnline or DirectedTo, chat room messages, and
	// the group and chat room calls that say so).
	ErrConnectionLost = errors.New("parley: connection lost before the reply")
)

// terminalClose reports whether a close code means "do not reconnect".
func terminalClose(code int) bool {
	switch code {
	case protocol.CloseAuthFailed, protocol.CloseBadProtocol, protocol.CloseKicked,
		protocol.CloseReplaced, protocol.CloseTooMany, protocol.CloseBadFrames:
		return true
	}
	return false
}

// restError maps a REST error body to an *Error whose Code is a registry ID.
// The Easemob "error" string is shared by several kinds, so the HTTP status
// and the exception name narrow it down; where they still leave a choice
// (forbidden_op is five kinds with one exception), the kinds the caller
// expects from the endpoint win, then the registry's order.
func restError(status int, body *protocol.ErrorBody, prefer ...protocol.ErrorKind) *Error {
	match := func(k protocol.ErrorKind, byStatus, byException bool) bool {
		return k.Error == body.Error && (!byStatus || k.Status == status) &&
			(!byException || k.Exception == body.Exception)
	}
	for _, pass := range []struct {
		kinds                 []protocol.ErrorKind
		byStatus, byException bool
	}{
		{prefer, true, false},
		{protocol.Registry, true, true},
		{protocol.Registry, true, false},
		{protocol.Registry, false, false},
	} {
		for _, k := range pass.kinds {
			if match(k, pass.byStatus, pass.byException) {
				return &Error{Code: k.ID, Message: body.ErrorDescription}
			}
		}
	}
	code := body.Error
	if code == "" {
		code = fmt.Sprintf("http_%d", status)
	}
	return &Error{Code: code, Message: body.ErrorDescription}
}

// responseError reads a failed REST response into an *Error (what names
// the call, for bodies that are not the API's error shape).
func responseError(resp *http.Response, what string, prefer ...protocol.ErrorKind) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb protocol.ErrorBody
	if json.Unmarshal(raw, &eb) != nil || eb.Error == "" {
		return &Error{Code: fmt.Sprintf("http_%d", resp.StatusCode), Message: what + " failed: " + resp.Status}
	}
	e := restError(resp.StatusCode, &eb, prefer...)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
