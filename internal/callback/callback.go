// Package callback calls an app's HTTP endpoints: a pre-send check that may
// allow, refuse or change a message before it is stored (a
// messaging.SendFilter), and signed post-send events (a message stored, a
// recipient offline, a recall, logins and logouts, group and chat room
// membership) delivered at least once from a durable queue.
//
// Delivery: an event that belongs to a message, a recall or a group notice
// is an unexpanded job stored in that item's own transaction, so an
// acknowledged message never loses its event; a worker (any node) leases
// it, builds the event and replaces the job with one job per rule that
// wants it, atomically. Each per-rule job is POSTed until the endpoint
// answers 2xx, with exponential backoff; after MaxAttempts it is kept as a
// failed delivery to list and retry. Receivers dedupe on the event ID,
// which is the same on every attempt. See docs/callbacks.md.
package callback

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Event types a rule may ask for.
const (
	EventPreSend     = "pre_send"
	EventChat        = "chat"
	EventOffline     = "chat_offline"
	EventRecall      = "recall"
	EventLogin       = "login"
	EventLogout      = "logout"
	EventGroupMember = "group_member"
	EventRoomMember  = "room_member"
)

// Events lists every event type, in the documented order.
var Events = []string{EventPreSend, EventChat, EventOffline, EventRecall, EventLogin, EventLogout, EventGroupMember, EventRoomMember}

// Limits.
const (
	MaxRules           = 8
	DefaultTimeout     = 2 * time.Second
	MaxTimeout         = 10 * time.Second
	DefaultMaxAttempts = 12
	// deliverTimeout bounds one post-send delivery.
	deliverTimeout = 10 * time.Second
	// rulesTTL is how long a node trusts its cached rules of an app (changes
	// made on another node are seen within it).
	rulesTTL = 10 * time.Second
	// leaseFor is how long a claimed job is this node's.
	leaseFor = time.Minute
	workers  = 16
)

// Service holds the rules and runs the pre-send check and the delivery
// worker.
type Service struct {
	st      store.Store
	box     *secret.Box
	log     *slog.Logger
	metrics *obs.Metrics
	now     func() time.Time
	ids     func() int64

	// HTTPClient makes every call (tests trust their TLS receiver with it).
	HTTPClient *http.Client
	// Node is this node's ID: it owns the jobs it leases.
	Node int64
	// Online reports whether a user has a device connected (the chat_offline
	// event is for recipients without one).
	Online func(appID, userID int64) bool
	// Members returns a group's members (IDs, with their roles): a group
	// message's chat_offline event names those without a device.
	Members func(appID, groupID int64) (map[int64]string, map[int64]bool)
	// MaxAttempts is how many times a delivery is tried before it is kept
	// as failed.
	MaxAttempts int
	// Backoff is the wait after attempt n (1 s doubling, at most an hour).
	Backoff func(attempts int) time.Duration

	mu    sync.RWMutex // guards rules (read on every send)
	rules map[int64]cachedRules
	poke  chan struct{}
	emits chan store.CallbackJob
}

type cachedRules struct {
	rules []Rule
	at    time.Time
}

// Rule is a rule with its secret opened.
type Rule struct {
	Name     string
	URL      string
	Secret   []byte
	Events   []string
	Timeout  time.Duration
	FailOpen bool
	Created  int64
	Updated  int64
}

func (r *Rule) wants(event string) bool { return slices.Contains(r.Events, event) }

// New builds the service.
func New(st store.Store, box *secret.Box, ids func() int64, log *slog.Logger, m *obs.Metrics) *Service {
	return &Service{st: st, box: box, ids: ids, log: log, metrics: m, now: time.Now, HTTPClient: http.DefaultClient,
		MaxAttempts: DefaultMaxAttempts, Backoff: backoff, rules: map[int64]cachedRules{}, poke: make(chan struct{}, 1),
		emits: make(chan store.CallbackJob, 4096)}
}

func backoff(attempts int) time.Duration {
	return min(time.Second<<min(attempts-1, 12), time.Hour)
}

// RuleInfo is a rule as the API shows it (never its secret).
type RuleInfo struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	TimeoutMS int64    `json:"timeout_ms,omitempty"`
	FailOpen  *bool    `json:"fail_open,omitempty"`
	Created   int64    `json:"created"`
	Updated   int64    `json:"updated"`
}

func info(r *store.CallbackRule) RuleInfo {
	i := RuleInfo{Name: r.Name, URL: r.URL, Events: r.Events, Created: r.Created, Updated: r.Updated}
	if slices.Contains(r.Events, EventPreSend) {
		fo := r.FailOpen
		i.TimeoutMS, i.FailOpen = r.TimeoutMS, &fo
	}
	return i
}

// RuleSpec is what a caller sets. On update, an empty Secret keeps the
// rule's secret; nil fields keep their values.
type RuleSpec struct {
	URL       string
	Secret    string
	Events    []string
	TimeoutMS *int64
	FailOpen  *bool
}

// ad binds a sealed secret to its app and rule.
func ad(appID int64, name string) []byte {
	return []byte("callback:" + strconv.FormatInt(appID, 10) + ":" + name)
}

// ValidateName checks a rule name.
func ValidateName(name string) error {
	if name == "" || len(name) > 64 || name == "storage" {
		return errs.New(protocol.ErrIllegalArgument, "name must be 1..64 characters of letters, digits, '-' and '_' (not \"storage\")")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return errs.New(protocol.ErrIllegalArgument, "name must be 1..64 characters of letters, digits, '-' and '_' (not \"storage\")")
		}
	}
	return nil
}

// ValidateURL accepts https URLs, and http ones only to a loopback host
// (tests, development).
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || len(raw) > 2048 {
		return errs.New(protocol.ErrIllegalArgument, "url must be an absolute https URL without credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errs.New(protocol.ErrIllegalArgument, "url must use https (http is allowed for loopback hosts only)")
	}
	return errs.New(protocol.ErrIllegalArgument, "url must use https (http is allowed for loopback hosts only)")
}

// validate checks a complete rule.
func validate(r *store.CallbackRule, secret string) error {
	if err := ValidateURL(r.URL); err != nil {
		return err
	}
	if len(secret) < 16 || len(secret) > 256 || !utf8.ValidString(secret) {
		return errs.New(protocol.ErrIllegalArgument, "secret must be 16..256 characters")
	}
	if len(r.Events) == 0 {
		return errs.New(protocol.ErrIllegalArgument, "events must name at least one of %s", strings.Join(Events, ", "))
	}
	seen := map[string]bool{}
	for _, e := range r.Events {
		if !slices.Contains(Events, e) {
			return errs.New(protocol.ErrIllegalArgument, "unknown event %q: events are %s", e, strings.Join(Events, ", "))
		}
		if seen[e] {
			return errs.New(protocol.ErrIllegalArgument, "event %q is listed twice", e)
		}
		seen[e] = true
	}
	if r.TimeoutMS < 1 || time.Duration(r.TimeoutMS)*time.Millisecond > MaxTimeout {
		return errs.New(protocol.ErrIllegalArgument, "timeout_ms must be 1..%d", MaxTimeout.Milliseconds())
	}
	return nil
}

// CreateRule adds a rule (an app admin only).
func (s *Service) CreateRule(ctx context.Context, p *tenant.Principal, name string, spec RuleSpec) (*RuleInfo, error) {
	return s.putRule(ctx, p, name, spec, true)
}

// UpdateRule changes a rule (an app admin only).
func (s *Service) UpdateRule(ctx context.Context, p *tenant.Principal, name string, spec RuleSpec) (*RuleInfo, error) {
	return s.putRule(ctx, p, name, spec, false)
}

func (s *Service) putRule(ctx context.Context, p *tenant.Principal, name string, spec RuleSpec, create bool) (*RuleInfo, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	list, err := s.st.Callbacks().Rules(ctx, p.App.ID)
	if err != nil {
		return nil, err
	}
	var old *store.CallbackRule
	preSend := ""
	for i := range list {
		if list[i].Name == name {
			old = &list[i]
		} else if slices.Contains(list[i].Events, EventPreSend) {
			preSend = list[i].Name
		}
	}
	switch {
	case create && old != nil:
		return nil, errs.New(protocol.ErrIllegalArgument, "a callback rule named %q exists", name)
	case !create && old == nil:
		return nil, errs.New(protocol.ErrNotFound, "no callback rule %q", name)
	case create && len(list) >= MaxRules:
		return nil, errs.New(protocol.ErrIllegalArgument, "an app has at most %d callback rules", MaxRules)
	}
	now := s.now().UnixMilli()
	r := store.CallbackRule{AppID: p.App.ID, Name: name, URL: spec.URL, Events: spec.Events, TimeoutMS: DefaultTimeout.Milliseconds(),
		FailOpen: true, Created: now, Updated: now}
	plain := spec.Secret
	if old != nil {
		r.Created = old.Created
		if r.URL == "" {
			r.URL = old.URL
		}
		if r.Events == nil {
			r.Events = old.Events
		}
		r.TimeoutMS, r.FailOpen = old.TimeoutMS, old.FailOpen
		if plain == "" {
			b, err := s.box.Open(old.Secret, ad(p.App.ID, name))
			if err != nil {
				return nil, err
			}
			plain = string(b)
		}
	}
	if spec.TimeoutMS != nil {
		r.TimeoutMS = *spec.TimeoutMS
	}
	if spec.FailOpen != nil {
		r.FailOpen = *spec.FailOpen
	}
	if err := validate(&r, plain); err != nil {
		return nil, err
	}
	if slices.Contains(r.Events, EventPreSend) && preSend != "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "rule %q already has pre_send: an app has one pre-send rule", preSend)
	}
	r.Secret = s.box.Seal([]byte(plain), ad(p.App.ID, name))
	if err := s.st.Callbacks().PutRule(ctx, &r); err != nil {
		return nil, err
	}
	s.forget(p.App.ID)
	i := info(&r)
	return &i, nil
}

// Rules lists an app's rules.
func (s *Service) Rules(ctx context.Context, p *tenant.Principal) ([]RuleInfo, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	list, err := s.st.Callbacks().Rules(ctx, p.App.ID)
	if err != nil {
		return nil, err
	}
	out := make([]RuleInfo, 0, len(list))
	for i := range list {
		out = append(out, info(&list[i]))
	}
	return out, nil
}

// Rule returns one rule.
func (s *Service) Rule(ctx context.Context, p *tenant.Principal, name string) (*RuleInfo, error) {
	list, err := s.Rules(ctx, p)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i], nil
		}
	}
	return nil, errs.New(protocol.ErrNotFound, "no callback rule %q", name)
}

// DeleteRule deletes a rule with its pending and failed deliveries.
func (s *Service) DeleteRule(ctx context.Context, p *tenant.Principal, name string) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	if err := s.st.Callbacks().DeleteRule(ctx, p.App.ID, name); err == store.ErrNotFound {
		return errs.New(protocol.ErrNotFound, "no callback rule %q", name)
	} else if err != nil {
		return err
	}
	s.forget(p.App.ID)
	return nil
}

func (s *Service) forget(appID int64) {
	s.mu.Lock()
	delete(s.rules, appID)
	s.mu.Unlock()
}

// appRules returns an app's rules (cached for rulesTTL).
func (s *Service) appRules(ctx context.Context, appID int64) ([]Rule, error) {
	s.mu.RLock()
	c, ok := s.rules[appID]
	s.mu.RUnlock()
	if ok && s.now().Sub(c.at) < rulesTTL {
		return c.rules, nil
	}
	list, err := s.st.Callbacks().Rules(ctx, appID)
	if err != nil {
		return nil, err
	}
	rules := make([]Rule, 0, len(list))
	for _, r := range list {
		key, err := s.box.Open(r.Secret, ad(appID, r.Name))
		if err != nil {
			s.log.Error("callback rule secret does not open (secrets key changed?)", "app", appID, "rule", r.Name)
			continue
		}
		rules = append(rules, Rule{Name: r.Name, URL: r.URL, Secret: key, Events: r.Events,
			Timeout: time.Duration(r.TimeoutMS) * time.Millisecond, FailOpen: r.FailOpen, Created: r.Created, Updated: r.Updated})
	}
	s.mu.Lock()
	s.rules[appID] = cachedRules{rules: rules, at: s.now()}
	s.mu.Unlock()
	return rules, nil
}

// wanted reports whether any rule of the app wants one of events.
func (s *Service) wanted(ctx context.Context, appID int64, events ...string) bool {
	rules, err := s.appRules(ctx, appID)
	if err != nil {
		s.log.Warn("callback rules", "app", appID, "err", err)
		// Unknown: store the job; the worker decides when it expands it.
		return true
	}
	for i := range rules {
		for _, e := range events {
			if rules[i].wants(e) {
				return true
			}
		}
	}
	return false
}

func (s *Service) count(kind, outcome string) {
	if s.metrics != nil {
		s.metrics.CallbackOutcomes.WithLabelValues(kind, outcome).Inc()
	}
}

func (s *Service) observe(kind string, d time.Duration) {
	if s.metrics != nil {
		s.metrics.CallbackDuration.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// Delivery is a failed delivery as the API shows it.
type Delivery struct {
	ID        string          `json:"id"`
	Rule      string          `json:"rule"`
	Event     string          `json:"event"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error"`
	Created   int64           `json:"created"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// FailedDeliveries lists an app's failed deliveries by event ID and rule,
// after cursor (from the previous page), at most limit (1..100).
func (s *Service) FailedDeliveries(ctx context.Context, p *tenant.Principal, cursor string, limit int) ([]Delivery, string, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 50
	}
	if limit > 100 {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..100")
	}
	var after int64
	var afterRule string
	if cursor != "" {
		id, rule, _ := strings.Cut(cursor, ".")
		v, err := strconv.ParseInt(id, 10, 64)
		if err != nil || v < 0 {
			return nil, "", errs.New(protocol.ErrIllegalArgument, "bad cursor")
		}
		after, afterRule = v, rule
	}
	list, err := s.st.Callbacks().Failed(ctx, p.App.ID, after, afterRule, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]Delivery, 0, len(list))
	for _, j := range list {
		d := Delivery{ID: strconv.FormatInt(j.ID, 10), Rule: j.Rule, Event: j.Event, Attempts: j.Attempts, LastError: j.LastError,
			Created: j.Created}
		if json.Valid(j.Payload) {
			d.Body = j.Payload
		}
		out = append(out, d)
	}
	next := ""
	if len(list) == limit {
		last := list[len(list)-1]
		next = strconv.FormatInt(last.ID, 10) + "." + last.Rule
	}
	return out, next, nil
}

// RetryFailed makes failed deliveries due now: those of event id, or every
// one of the app when id is "". It returns how many.
func (s *Service) RetryFailed(ctx context.Context, p *tenant.Principal, id string) (int64, error) {
	if err := p.RequireAdmin(); err != nil {
		return 0, err
	}
	var v int64
	if id != "" {
		var err error
		if v, err = strconv.ParseInt(id, 10, 64); err != nil || v <= 0 {
			return 0, errs.New(protocol.ErrIllegalArgument, "id must be an event ID")
		}
	}
	n, err := s.st.Callbacks().Requeue(ctx, p.App.ID, v, s.now().UnixMilli())
	if err != nil {
		return 0, err
	}
	if id != "" && n == 0 {
		return 0, errs.New(protocol.ErrNotFound, "no failed delivery of event %s", id)
	}
	if n > 0 {
		s.Poke()
	}
	return n, nil
}
