// Package push sends notifications to devices of users who are not
// connected. A message for such a user gets a push job in the same
// transaction that stores the message (so an acknowledged message never
// loses its push); a worker pool leases due jobs (once, across nodes),
// applies the user's rules (notification mode per app, chat and group;
// quiet hours; the message's em_* controls), builds the notification
// (display style, push nickname, templates, badge) and sends it through
// the app's notifier (FCM, APNs, a webhook or the log), retrying with
// backoff and unbinding tokens the service reports dead.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Notification modes.
const (
	ModeDefault = "DEFAULT"
	ModeAll     = "ALL"
	ModeAt      = "AT"
	ModeNone    = "NONE"
)

// Job kinds.
const (
	jobChat   = "chat"
	jobGroup  = "group"
	jobDevice = "device"
)

// Service is the push domain service and worker.
type Service struct {
	st      store.Store
	box     *secret.Box
	users   *users.Service
	cfg     config.Push
	log     *slog.Logger
	metrics *obs.Metrics
	now     func() time.Time
	ids     func() int64

	// Online reports whether a user has a device in the foreground (the
	// gateway); such users get no push.
	Online func(appID, userID int64) bool
	// Members returns a group's members and those who shielded it.
	Members func(appID, groupID int64) (map[int64]string, map[int64]bool)
	// HTTPClient is used by the providers (tests point it at local fakes).
	HTTPClient *http.Client
	// Node is this node's ID: it owns the jobs it leases, and takes them
	// back when it starts again after a crash.
	Node int64

	mu        sync.Mutex
	apps      map[int64]bool // apps with notifiers
	providers map[string]cachedProvider
	slots     map[string]chan struct{} // per notifier
	poke      chan struct{}
}

type cachedProvider struct {
	p       provider.Provider
	kind    string
	updated int64
}

// New builds the service; Load fills its view of which apps push.
func New(st store.Store, box *secret.Box, u *users.Service, cfg config.Push, ids func() int64, log *slog.Logger, m *obs.Metrics) *Service {
	return &Service{st: st, box: box, users: u, cfg: cfg, log: log, metrics: m, now: time.Now, ids: ids,
		apps: map[int64]bool{}, providers: map[string]cachedProvider{}, slots: map[string]chan struct{}{},
		poke: make(chan struct{}, 1)}
}

// Load reads which apps have notifiers and takes back the jobs this node
// had leased when it stopped.
func (s *Service) Load(ctx context.Context) error {
	if err := s.st.Push().Release(ctx, s.Node); err != nil {
		return err
	}
	ids, err := s.st.Push().AppsWithNotifiers(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, id := range ids {
		s.apps[id] = true
	}
	s.mu.Unlock()
	return nil
}

// Pushes reports whether an app has any notifier (messages of apps without
// one make no jobs).
func (s *Service) Pushes(appID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[appID]
}

// JobFor implements messaging's push gate for a 1:1 message: a job when
// the app pushes and the recipient has no device in the foreground.
func (s *Service) JobFor(appID, userID int64) *store.PushJob {
	if !s.Pushes(appID) || (s.Online != nil && s.Online(appID, userID)) {
		return nil
	}
	now := s.now().UnixMilli()
	return &store.PushJob{Kind: jobChat, UserID: userID, NextAt: now, Created: now}
}

// GroupJobFor is JobFor for a group message: one job, whatever the size
// (the worker finds the offline members when it runs).
func (s *Service) GroupJobFor(appID, groupID int64) *store.PushJob {
	if !s.Pushes(appID) {
		return nil
	}
	now := s.now().UnixMilli()
	return &store.PushJob{Kind: jobGroup, UserID: groupID, NextAt: now, Created: now}
}

// Poke wakes the worker (a job was committed).
func (s *Service) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// NotifierInfo is a notifier as shown: never its secrets.
type NotifierInfo struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Summary  string `json:"summary"`
	Created  int64  `json:"created"`
	Updated  int64  `json:"updated"`
}

func ad(appID int64, name string) []byte { return []byte(strconv.FormatInt(appID, 10) + "/" + name) }

// PutNotifier validates and stores a notifier (app token). Bad
// credentials are refused with the reason.
func (s *Service) PutNotifier(ctx context.Context, p *tenant.Principal, name string, c provider.Credentials) (*NotifierInfo, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if name == "" || len(name) > 64 || strings.ContainsAny(name, "/ ") {
		return nil, errs.New(protocol.ErrIllegalArgument, "name must be 1..64 characters without spaces or slashes")
	}
	if _, err := provider.New(c, s.options()); err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "bad %s credentials: %v", c.Kind, err)
	}
	raw, _ := json.Marshal(c)
	now := s.now().UnixMilli()
	n := &store.Notifier{AppID: p.App.ID, Name: name, Provider: c.Kind, Credentials: s.box.Seal(raw, ad(p.App.ID, name)),
		Summary: summary(c), Created: now, Updated: now}
	if err := s.st.Push().PutNotifier(ctx, n); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.apps[p.App.ID] = true
	delete(s.providers, string(ad(p.App.ID, name)))
	s.mu.Unlock()
	return &NotifierInfo{Name: name, Provider: c.Kind, Summary: n.Summary, Created: now, Updated: now}, nil
}

// summary is what may be shown of credentials.
func summary(c provider.Credentials) string {
	switch c.Kind {
	case provider.FCM:
		var sa struct {
			ProjectID   string `json:"project_id"`
			ClientEmail string `json:"client_email"`
		}
		json.Unmarshal(c.ServiceAccount, &sa)
		project := c.ProjectID
		if project == "" {
			project = sa.ProjectID
		}
		return fmt.Sprintf("project %s, %s", project, sa.ClientEmail)
	case provider.APNs:
		env := "production"
		if c.Sandbox {
			env = "sandbox"
		}
		return fmt.Sprintf("key %s, team %s, topic %s, %s", c.KeyID, c.TeamID, c.Topic, env)
	case provider.Webhook:
		return c.URL
	}
	return c.Kind
}

// Notifiers lists an app's notifiers (app token).
func (s *Service) Notifiers(ctx context.Context, p *tenant.Principal) ([]NotifierInfo, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	list, err := s.st.Push().Notifiers(ctx, p.App.ID)
	if err != nil {
		return nil, err
	}
	out := []NotifierInfo{}
	for _, n := range list {
		out = append(out, NotifierInfo{Name: n.Name, Provider: n.Provider, Summary: n.Summary, Created: n.Created, Updated: n.Updated})
	}
	return out, nil
}

// DeleteNotifier removes a notifier (app token).
func (s *Service) DeleteNotifier(ctx context.Context, p *tenant.Principal, name string) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	if err := s.st.Push().DeleteNotifier(ctx, p.App.ID, name); errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrNotFound, "no notifier %q", name)
	} else if err != nil {
		return err
	}
	rest, _ := s.st.Push().Notifiers(ctx, p.App.ID)
	s.mu.Lock()
	s.apps[p.App.ID] = len(rest) > 0
	delete(s.providers, string(ad(p.App.ID, name)))
	s.mu.Unlock()
	return nil
}

func (s *Service) options() provider.Options {
	return provider.Options{HTTPClient: s.HTTPClient, Log: s.log}
}

// provider returns the (cached) provider of a notifier.
func (s *Service) provider(ctx context.Context, appID int64, name string) (provider.Provider, string, error) {
	n, err := s.st.Push().Notifier(ctx, appID, name)
	if err != nil {
		return nil, "", err
	}
	key := string(ad(appID, name))
	s.mu.Lock()
	c, ok := s.providers[key]
	s.mu.Unlock()
	if ok && c.updated == n.Updated {
		return c.p, c.kind, nil
	}
	raw, err := s.box.Open(n.Credentials, ad(appID, name))
	if err != nil {
		return nil, "", fmt.Errorf("notifier %s: %w", name, err)
	}
	var cred provider.Credentials
	if err := json.Unmarshal(raw, &cred); err != nil {
		return nil, "", err
	}
	p, err := provider.New(cred, s.options())
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	s.providers[key] = cachedProvider{p: p, kind: cred.Kind, updated: n.Updated}
	s.mu.Unlock()
	return p, cred.Kind, nil
}

// slot bounds concurrent sends per notifier.
func (s *Service) slot(key string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.slots[key]
	if c == nil {
		c = make(chan struct{}, s.cfg.PerNotifier)
		s.slots[key] = c
	}
	return c
}
