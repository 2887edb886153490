package parley

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

func TestRestError(t *testing.T) {
	tests := []struct {
		status int
		body   protocol.ErrorBody
		want   string
	}{
		{400, protocol.ErrorBody{Error: "invalid_grant", ErrorDescription: "invalid username or password"}, protocol.ErrInvalidGrant.ID},
		{404, protocol.ErrorBody{Error: "invalid_grant"}, protocol.ErrGrantUserNotFound.ID},
		{404, protocol.ErrorBody{Error: "organization_application_not_found"}, protocol.ErrAppNotFound.ID},
		{401, protocol.ErrorBody{Error: "auth_bad_access_token"}, protocol.ErrBadAccessToken.ID},
		{418, protocol.ErrorBody{Error: "invalid_grant"}, protocol.ErrInvalidGrant.ID},
		{502, protocol.ErrorBody{}, "http_502"},
	}
	for _, tt := range tests {
		e := restError(tt.status, &tt.body)
		if e.Code != tt.want || e.Message != tt.body.ErrorDescription {
			t.Errorf("restError(%d, %q) = %+v, want code %s", tt.status, tt.body.Error, e, tt.want)
		}
	}
}

func TestError_Is(t *testing.T) {
	err := fmt.Errorf("send: %w", &Error{Code: protocol.ErrMessageTooLarge.ID, Message: "6000 bytes"})
	if !errors.Is(err, &Error{Code: protocol.ErrMessageTooLarge.ID}) || errors.Is(err, &Error{Code: "other"}) {
		t.Fatal("errors.Is does not match on Code")
	}
	if !IsCode(err, protocol.ErrMessageTooLarge) || IsCode(errors.New("x"), protocol.ErrMessageTooLarge) {
		t.Fatal("IsCode")
	}
	if ErrorCode(err) != "message_too_large" || ErrorCode(nil) != "" {
		t.Fatal("ErrorCode")
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&CloseError{Code: 4004}, true},
		{&Error{Code: protocol.ErrBadAccessToken.ID}, true},
		{&Error{Code: protocol.ErrInvalidGrant.ID}, true},
		{&Error{Code: protocol.ErrTooManyDevices.ID}, true},
		{&Error{Code: protocol.ErrUnavailable.ID}, false},
		{&Error{Code: "http_503"}, false},
		{errors.New("dial tcp: connection refused"), false},
	}
	for _, tt := range tests {
		if got := terminal(tt.err); got != tt.want {
			t.Errorf("terminal(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	for code, want := range map[int]bool{1000: false, 1001: false, 1006: false, 4001: true, 4002: false, 4003: true,
		4004: true, 4005: true, 4006: true, 4008: false, 4009: false, 4010: true} {
		if terminalClose(code) != want {
			t.Errorf("terminalClose(%d) = %v", code, !want)
		}
	}
}

// Kinds that share an error string are told apart by status, exception and
// what the endpoint can fail with.
func TestRestError_Prefer(t *testing.T) {
	notFound := protocol.ErrorBody{Error: "service_resource_not_found", Exception: protocol.ErrFileNotFound.Exception}
	forbidden := protocol.ErrorBody{Error: "forbidden_op", Exception: protocol.ErrForbidden.Exception}
	badArg := protocol.ErrorBody{Error: "illegal_argument", Exception: protocol.ErrIllegalArgument.Exception}
	tests := []struct {
		name   string
		status int
		body   protocol.ErrorBody
		prefer []protocol.ErrorKind
		want   protocol.ErrorKind
	}{
		{"exception decides", 404, notFound, nil, protocol.ErrFileNotFound},
		{"unknown route", 404, protocol.ErrorBody{Error: "service_resource_not_found", Exception: "ResourceNotFoundException"}, nil, protocol.ErrNotFound},
		{"registry order", 403, forbidden, nil, protocol.ErrForbidden},
		{"the endpoint's kind", 403, forbidden, []protocol.ErrorKind{protocol.ErrFileAccessDenied}, protocol.ErrFileAccessDenied},
		{"preferred kind needs its status", 400, forbidden, []protocol.ErrorKind{protocol.ErrFileAccessDenied}, protocol.ErrForbidden},
		{"bad image", 400, badArg, []protocol.ErrorKind{protocol.ErrFileTooLarge, protocol.ErrBadImage}, protocol.ErrBadImage},
		{"too large", 413, protocol.ErrorBody{Error: "request_entity_too_large"}, nil, protocol.ErrFileTooLarge},
	}
	for _, tt := range tests {
		if e := restError(tt.status, &tt.body, tt.prefer...); e.Code != tt.want.ID {
			t.Errorf("%s: %s, want %s", tt.name, e.Code, tt.want.ID)
		}
	}
}

// A 429 carries the server's Retry-After; a refused send its retry_after_ms.
func TestError_RetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{{"7", 7 * time.Second}, {"", 0}, {"soon", 0}, {"-1", 0}} {
		resp := &http.Response{StatusCode: 429, Header: http.Header{}, Status: "429 Too Many Requests",
			Body: io.NopCloser(strings.NewReader(`{"error":"resource_limited","exception":"ResourceLimitedException","code":"rate_limited"}`))}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		e := responseError(resp, "test")
		if e.Code != protocol.ErrRateLimited.ID || e.RetryAfter != tc.want {
			t.Errorf("Retry-After %q: %+v, want rate_limited after %v", tc.header, e, tc.want)
		}
	}
	r := &reply{T: protocol.FrameError, raw: []byte(`{"t":"error","id":"1","code":"rate_limited","message":"slow down","retry_after_ms":40}`)}
	var e *Error
	if !errors.As(r.asError(), &e) || e.RetryAfter != 40*time.Millisecond || e.Code != "rate_limited" {
		t.Fatalf("error frame: %+v", e)
	}
}
