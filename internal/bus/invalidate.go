package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
)

// InvalidateSubject carries cache invalidations between nodes.
const InvalidateSubject = "inv"

// Invalidator tells the other nodes' caches that an entry changed, so that
// a change made through one node is seen at once through every other (a
// group's members, a block list, a deleted user's name). Each service
// registers what to drop per kind with On and announces its own changes
// with Publish after dropping its own entry. A node ignores its own
// announcements. Invalidation is as reliable as the bus (at most once),
// which is why every cache also expires its entries after a short time.
//
// A nil *Invalidator does nothing: services built without one (tests, a
// single node) only have their own caches to drop.
type Invalidator struct {
	b      Bus
	origin string
	mu     sync.RWMutex
	on     map[string][]func(key string)
}

// NewInvalidator subscribes to invalidations on b.
func NewInvalidator(b Bus) (*Invalidator, error) {
	var r [8]byte
	rand.Read(r[:])
	iv := &Invalidator{b: b, origin: hex.EncodeToString(r[:]), on: map[string][]func(string){}}
	if _, err := b.Subscribe(InvalidateSubject, iv.receive); err != nil {
		return nil, err
	}
	return iv, nil
}

// On registers fn to drop the entry key of kind. Register before traffic
// starts.
func (iv *Invalidator) On(kind string, fn func(key string)) {
	if iv == nil {
		return
	}
	iv.mu.Lock()
	iv.on[kind] = append(iv.on[kind], fn)
	iv.mu.Unlock()
}

// Publish tells the other nodes that the entry key of kind changed.
func (iv *Invalidator) Publish(kind, key string) {
	if iv == nil {
		return
	}
	iv.b.Publish(context.Background(), InvalidateSubject, []byte(iv.origin+"|"+kind+"|"+key))
}

func (iv *Invalidator) receive(_ string, data []byte) {
	origin, rest, ok := strings.Cut(string(data), "|")
	if !ok || origin == iv.origin {
		return
	}
	kind, key, ok := strings.Cut(rest, "|")
	if !ok {
		return
	}
	iv.mu.RLock()
	fns := iv.on[kind]
	iv.mu.RUnlock()
	for _, fn := range fns {
		fn(key)
	}
}
