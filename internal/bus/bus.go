// Package bus carries events from where they happen (a message committed, a
// device kicked) to the gateways that hold the affected users' connections.
// The in-process implementation serves one node; the cluster mode adds a NATS
// one. Both pass the conformance suite in bustest.
//
// Delivery semantics, for every implementation:
//   - at most once: a subscriber that is not there, or falls behind, misses
//     events; clients recover from storage (sync), never from the bus;
//   - ordered per subject and publisher: events one publisher sends on one
//     subject reach each subscriber in publish order;
//   - data is immutable once published: neither side may modify it.
package bus

import (
	"context"
	"errors"
	"sync"
)

// Handler receives one event. It must not block: gateways enqueue and return.
type Handler func(subject string, data []byte)

// Subscription is an active subscription.
type Subscription interface {
	Unsubscribe() error
}

// Bus is the event bus.
type Bus interface {
	Publish(ctx context.Context, subject string, data []byte) error
	Subscribe(subject string, h Handler) (Subscription, error)
	Close() error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("bus: closed")

// InProc is the single-node bus: Publish calls every subscriber of the
// subject synchronously, on the publisher's goroutine.
type InProc struct {
	mu     sync.RWMutex
	subs   map[string][]*inprocSub
	closed bool
}

var _ Bus = (*InProc)(nil)

// NewInProc returns an empty in-process bus.
func NewInProc() *InProc { return &InProc{subs: map[string][]*inprocSub{}} }

type inprocSub struct {
	b       *InProc
	subject string
	h       Handler
}

// Publish implements Bus.
func (b *InProc) Publish(_ context.Context, subject string, data []byte) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	subs := b.subs[subject]
	b.mu.RUnlock()
	for _, s := range subs {
		s.h(subject, data)
	}
	return nil
}

// Subscribe implements Bus.
func (b *InProc) Subscribe(subject string, h Handler) (Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	s := &inprocSub{b: b, subject: subject, h: h}
	// Copy on write: Publish iterates a snapshot without holding the lock.
	old := b.subs[subject]
	next := make([]*inprocSub, len(old), len(old)+1)
	copy(next, old)
	b.subs[subject] = append(next, s)
	return s, nil
}

func (s *inprocSub) Unsubscribe() error {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.subs[s.subject]
	next := make([]*inprocSub, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	if len(next) == 0 {
		delete(b.subs, s.subject)
	} else {
		b.subs[s.subject] = next
	}
	return nil
}

// Close implements Bus.
func (b *InProc) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = map[string][]*inprocSub{}
	return nil
}
