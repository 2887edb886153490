package store

import "context"

// LeaseStore keeps leases: a named right that one owner holds until it
// expires, renewed by its holder. Nodes of a cluster lease their node IDs
// and the right to run jobs that must run once (cleanups, sweeps).
type LeaseStore interface {
	// Acquire takes the lease when it is free or expired, or renews it when
	// owner already holds it, setting its expiry to until (Unix ms). It
	// reports whether owner holds it now. now is the caller's clock (ms).
	Acquire(ctx context.Context, name, owner string, now, until int64) (bool, error)
	// Release gives the lease up if owner holds it.
	Release(ctx context.Context, name, owner string) error
}
