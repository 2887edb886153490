package provider_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
)

// t0 is where the fake clocks of the tests start.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// jsonEqual fails t unless got and want are the same JSON value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// kindOf classifies a Send error the way the push worker does.
func kindOf(err error) string {
	var re *provider.RetryError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, provider.ErrInvalidToken):
		return "invalid"
	case errors.As(err, &re):
		return "retry"
	case errors.Is(err, provider.ErrCredentialsRejected):
		return "rejected"
	default:
		return "permanent"
	}
}

// retryOf returns err as a *RetryError, failing t when it is not one.
func retryOf(t *testing.T, err error) *provider.RetryError {
	t.Helper()
	var re *provider.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *RetryError", err)
	}
	return re
}
