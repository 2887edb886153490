package users

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/tenant"
)

// Recipient resolution is on every send's path, so Resolve keeps a short
// cache of username -> user ID. A user ID never changes for a name while the
// user exists; deleting the user forgets the name on this node at once, and
// other nodes forget it within ResolveTTL.
const (
	ResolveTTL      = 10 * time.Second
	maxResolveCache = 200_000
)

type resolveKey struct {
	app  int64
	name string
}

type resolved struct {
	id      int64
	expires int64 // unix nanoseconds
}

type resolveCache struct {
	mu sync.RWMutex
	m  map[resolveKey]resolved
}

// Resolve returns the ID and canonical name of a user, from the cache when
// it can. Errors are those of Lookup.
func (s *Service) Resolve(ctx context.Context, app *tenant.App, username string) (int64, string, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return 0, "", err
	}
	k := resolveKey{app.ID, name}
	now := s.now().UnixNano()
	s.cache.mu.RLock()
	e, ok := s.cache.m[k]
	s.cache.mu.RUnlock()
	if ok && now < e.expires {
		return e.id, name, nil
	}
	u, err := s.get(ctx, app, name)
	if err != nil {
		return 0, "", err
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) >= maxResolveCache {
		s.cache.m = map[resolveKey]resolved{}
	}
	s.cache.m[k] = resolved{id: u.ID, expires: now + int64(ResolveTTL)}
	s.cache.mu.Unlock()
	return u.ID, name, nil
}

// forget drops a deleted user's name from the cache, here and on every
// other node.
func (s *Service) forget(appID int64, name string) {
	s.forgetLocal(appID, name)
	s.inv.Publish("user", strconv.FormatInt(appID, 10)+":"+name)
}

// UseInvalidator shares cache invalidations with the other nodes.
func (s *Service) UseInvalidator(iv *bus.Invalidator) {
	s.inv = iv
	iv.On("user", func(key string) {
		app, name, ok := strings.Cut(key, ":")
		if id, err := strconv.ParseInt(app, 10, 64); ok && err == nil {
			s.forgetLocal(id, name)
		}
	})
}

func (s *Service) forgetLocal(appID int64, name string) {
	s.cache.mu.Lock()
	delete(s.cache.m, resolveKey{appID, name})
	s.cache.mu.Unlock()
}
