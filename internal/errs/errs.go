// Package errs is the domain error type: a registry kind from package protocol
// plus a human description. Domain services return *Error for every failure a
// client can cause; anything else is an internal error and is logged, not shown.
package errs

import (
	"errors"
	"fmt"

	"github.com/parleyim/parley/protocol"
)

// Error is a client-visible failure.
type Error struct {
	Kind        protocol.ErrorKind
	Description string
}

func (e *Error) Error() string { return e.Kind.ID + ": " + e.Description }

// New builds an *Error with a formatted description.
func New(kind protocol.ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Description: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err carries the given kind.
func Is(err error, kind protocol.ErrorKind) bool {
	e, ok := As(err)
	return ok && e.Kind.ID == kind.ID
}
