package parley

import (
	"errors"
	"fmt"
	"testing"

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
