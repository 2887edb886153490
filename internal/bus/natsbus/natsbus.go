// Package natsbus is the cluster bus: events travel through NATS (core
// publish/subscribe, no JetStream), so a message stored on one node reaches
// the connections another node holds.
//
// It keeps the bus package's semantics: at most once (clients recover from
// storage, never from the bus), ordered per subject and publisher (NATS
// keeps one publisher connection's messages to one subscriber in order),
// handlers must not block.
//
// Every subscription of a node delivers into one channel drained by one
// goroutine, so ten thousand users online cost ten thousand SUB entries and
// not ten thousand goroutines. A Subscribe returns once the server has the
// subscription (a flush), so an event published after it, from any node,
// is not missed.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parleyim/parley/internal/bus"
)

// Options configure a connection.
type Options struct {
	// URLs are the NATS servers (nats://host:4222); several for a NATS
	// cluster. The client fails over between them.
	URLs []string
	// Name names this connection in the NATS server's monitoring.
	Name string
	// OnReconnect, if set, is called after the connection to NATS came
	// back: events published meanwhile were lost for this node.
	OnReconnect func()
	// Prefix is put before every subject (with a dot), so several clusters
	// can share a NATS server. Empty: none.
	Prefix string
	// Pending is the number of events waiting for the dispatcher before
	// NATS counts this node a slow consumer and drops events (default
	// 65,536).
	Pending int
	Log     *slog.Logger
}

// Bus is a bus.Bus on a NATS connection.
type Bus struct {
	nc   *nats.Conn
	pfx  string
	ch   chan *nats.Msg
	log  *slog.Logger
	done chan struct{}
	quit chan struct{}

	mu       sync.RWMutex
	handlers map[*nats.Subscription]bus.Handler
	closed   bool
}

var _ bus.Bus = (*Bus)(nil)

// Open connects to NATS. It fails when no server answers now; once
// connected, it reconnects for ever (events published while disconnected
// are buffered up to the client's reconnect buffer, then refused).
func Open(opts Options) (*Bus, error) {
	if len(opts.URLs) == 0 {
		return nil, errors.New("nats: no server URL")
	}
	if opts.Pending <= 0 {
		opts.Pending = 65536
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pfx := ""
	if opts.Prefix != "" {
		pfx = opts.Prefix + "."
	}
	b := &Bus{pfx: pfx, ch: make(chan *nats.Msg, opts.Pending), log: log, done: make(chan struct{}), quit: make(chan struct{}),
		handlers: map[*nats.Subscription]bus.Handler{}}
	nc, err := nats.Connect(strings.Join(opts.URLs, ","),
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(5*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected; live events pause, clients catch up on sync", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", c.ConnectedUrlRedacted())
			if opts.OnReconnect != nil {
				opts.OnReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				log.Warn("nats: events dropped for a slow consumer; clients catch up on sync")
				return
			}
			log.Warn("nats error", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats connect %s: %w", redact(opts.URLs), err)
	}
	b.nc = nc
	go b.dispatch()
	return b, nil
}

// redact drops user info from URLs for error messages.
func redact(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				u = u[:s+3] + "***" + u[at:]
			}
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}

func (b *Bus) dispatch() {
	defer close(b.done)
	for {
		var m *nats.Msg
		select {
		case m = <-b.ch:
		case <-b.quit:
			return
		}
		b.mu.RLock()
		h := b.handlers[m.Sub]
		b.mu.RUnlock()
		if h != nil {
			h(m.Subject[len(b.pfx):], m.Data)
		}
	}
}

// Publish implements bus.Bus.
func (b *Bus) Publish(_ context.Context, subject string, data []byte) error {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return bus.ErrClosed
	}
	return b.nc.Publish(b.pfx+subject, data)
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(subject string, h bus.Handler) (bus.Subscription, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bus.ErrClosed
	}
	ns, err := b.nc.ChanSubscribe(b.pfx+subject, b.ch)
	if err == nil {
		b.handlers[ns] = h
	}
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// Wait until the server has the subscription: events published after
	// Subscribe returns, from any node, then reach it.
	if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
		b.log.Warn("nats: subscription not confirmed", "subject", subject, "err", err)
	}
	return &sub{b: b, ns: ns}, nil
}

type sub struct {
	b  *Bus
	ns *nats.Subscription
}

func (s *sub) Unsubscribe() error {
	s.b.mu.Lock()
	delete(s.b.handlers, s.ns)
	closed := s.b.closed
	s.b.mu.Unlock()
	if closed {
		return nil
	}
	return s.ns.Unsubscribe()
}

// Close implements bus.Bus: buffered events are flushed to the server,
// then the connection closes.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.handlers = map[*nats.Subscription]bus.Handler{}
	b.mu.Unlock()
	err := b.nc.FlushTimeout(2 * time.Second)
	b.nc.Close()
	close(b.quit) // the channel itself stays open: the client might still hold it
	<-b.done
	return err
}

// Connected reports whether the connection to NATS is up (for readiness).
func (b *Bus) Connected() bool { return b.nc.IsConnected() }
