package errs

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Unreachable reports whether err (anywhere in its chain) says a backend —
// the database, mostly — could not be reached or dropped the connection:
// a network error, a refused or reset connection, a connection the driver
// gave up (driver.ErrBadConn), a driver error that failed before anything
// was sent (a SafeToRetry method that says true: pgx's "conn closed" after
// the server went away), or an SQLSTATE of class 08 (connection
// exception), 57P (the server is shutting down or starting) or 53300 (too
// many connections). Such a failure is an outage, not a bug: transports
// answer protocol.ErrUnavailable (503, retry) instead of ErrInternal. (A
// connection that broke during a commit leaves its outcome unknown; the
// idempotency keys make the retry safe.)
//
// It looks at errors by behaviour (net.Error, SafeToRetry and SQLState
// methods), so it names no driver.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var rt interface{ SafeToRetry() bool }
	if errors.As(err, &rt) && rt.SafeToRetry() {
		return true
	}
	var se interface{ SQLState() string }
	if errors.As(err, &se) {
		code := se.SQLState()
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
	}
	return false
}
