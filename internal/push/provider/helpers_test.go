package provider_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/push/provider/providertest"
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

// errCase is a row of a Send error table, the same for every provider.
type errCase struct {
	want      string        // kindOf
	wantAfter time.Duration // for "retry": the Retry-After
	wantText  string        // in the message
}

// check fails t unless err is what c wants; it goes on only when the
// kind is right.
func (c errCase) check(t *testing.T, err error) {
	t.Helper()
	if got := kindOf(err); got != c.want {
		t.Fatalf("err = %v (%s), want %s", err, got, c.want)
	}
	if c.want == "retry" {
		if re := retryOf(t, err); re.After != c.wantAfter {
			t.Errorf("After = %s, want %s", re.After, c.wantAfter)
		}
	}
	if !strings.Contains(err.Error(), c.wantText) {
		t.Errorf("err = %q, want it to contain %q", err, c.wantText)
	}
}

// errNotification fills in n for an error table: "" token: a fresh one,
// "-": none; an empty body: "hi".
func errNotification(n provider.Notification) provider.Notification {
	if n.Body == "" {
		n.Body = "hi"
	}
	switch n.Token {
	case "":
		n.Token = providertest.DeviceToken()
	case "-":
		n.Token = ""
	}
	return n
}
