package moderation

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/sqlite"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Two nodes share a store and a bus: a change through one reaches the
// other's compiled list at once (not after CacheTTL).
func TestService_InvalidationAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	created, err := tenant.NewService(st).Create(ctx, "acme", "chat", tenant.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenant.NewService(st).Resolve(ctx, created.OrgName, created.AppName)
	if err != nil {
		t.Fatal(err)
	}
	b := bus.NewInProc()
	node := func(id int) *Service {
		iv, err := bus.NewInvalidator(b)
		if err != nil {
			t.Fatal(err)
		}
		return New(st, idgen.New(id), iv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	a, c := node(1), node(2)
	msg := func(text string) *messaging.Outgoing {
		body, _ := json.Marshal(map[string]string{"msg": text})
		return &messaging.Outgoing{App: app, From: "alice", To: []string{"bob"}, ChatType: "chat", Type: "txt", Body: body}
	}
	if err := c.FilterSend(ctx, msg("hello 世界")); err != nil {
		t.Fatal(err) // node 2 caches the empty list
	}
	admin := &tenant.Principal{App: app, Admin: true}
	if _, err := a.AddWords(ctx, admin, []Word{{Word: "世界", Action: "reject"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.FilterSend(ctx, msg("hello 世界"))
		if errs.Is(err, protocol.ErrContentRejected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 still lets the word through: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.RemoveWords(ctx, admin, []string{"世界"}); err != nil {
		t.Fatal(err)
	}
	for c.FilterSend(ctx, msg("hello 世界")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("node 2 still rejects a removed word")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A list older than CacheTTL (a lost invalidation) is refreshed in the
// background: the message that finds it stale still uses it, later ones
// see the change.
func TestService_RefreshAfterTTL(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	created, err := tenant.NewService(st).Create(ctx, "acme", "chat", tenant.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenant.NewService(st).Resolve(ctx, created.OrgName, created.AppName)
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, idgen.New(1), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	s.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	if v, err := s.Check(ctx, app.ID, "坏蛋"); err != nil || len(v.Rejected) != 0 {
		t.Fatal(v, err)
	}
	// Another node's change whose invalidation was lost.
	if err := st.Moderation().PutWords(ctx, []store.ModerationWord{{AppID: app.ID, Word: "坏蛋", Action: store.ActionReject, Created: 1}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Check(ctx, app.ID, "坏蛋"); len(v.Rejected) != 0 {
		t.Fatal("the cached list changed before its TTL")
	}
	clock.Add(CacheTTL.Milliseconds())
	if v, _ := s.Check(ctx, app.ID, "坏蛋"); len(v.Rejected) != 0 {
		t.Fatal("the stale list was not used while refreshing")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := s.Check(ctx, app.ID, "坏蛋"); len(v.Rejected) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the list was not refreshed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
