package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// DefaultTokenTTL is the lifetime of an admin token when none is asked for.
const DefaultTokenTTL = 24 * time.Hour

// MaxTokenTTL bounds admin tokens.
const MaxTokenTTL = 30 * 24 * time.Hour

// Service manages console/management admins: their accounts and roles,
// management API tokens, console sessions, sign-in throttling and the
// audit log. Tokens and session cookies are opaque random strings; only
// their SHA-256 is stored, so they can be revoked and a database leak
// reveals none.
type Service struct {
	st     store.Store
	hasher *auth.Hasher
	apps   *tenant.Service
	log    *slog.Logger
	clock  atomic.Pointer[func() time.Time]

	// Throttle limits failed console sign-ins (in memory, per node).
	Throttle *Throttle

	dummyOnce sync.Once
	dummy     string // a hash to verify against for unknown accounts

	namesMu sync.Mutex
	names   map[int64]string // app ID -> "org/app" (apps are never renamed)
}

// NewService builds the service.
func NewService(st store.Store, h *auth.Hasher, apps *tenant.Service, log *slog.Logger) *Service {
	s := &Service{st: st, hasher: h, apps: apps, log: log, Throttle: NewThrottle(), names: map[int64]string{}}
	s.SetClock(time.Now)
	return s
}

// SetClock replaces the clock the service reads (sessions, throttling,
// tokens, the audit log): tests move it to expire sessions. Safe to call
// while requests run.
func (s *Service) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Service) now() time.Time { return (*s.clock.Load())() }

// Token is an issued admin token.
type Token struct {
	AccessToken string
	ExpiresIn   int64
	Admin       *Account
}

// checkPassword verifies a password against an account, or against a
// dummy hash when there is no account, so that the answer takes as long
// either way (no probing for account names by timing).
func (s *Service) checkPassword(ctx context.Context, a *store.Admin, password string) (bool, error) {
	hash := ""
	if a != nil {
		hash = a.PasswordHash
	} else {
		s.dummyOnce.Do(func() {
			s.dummy, _ = s.hasher.Hash(context.Background(), "parley-no-such-account")
		})
		hash = s.dummy
	}
	ok, err := s.hasher.Verify(ctx, password, hash)
	if err != nil || a == nil {
		return false, err
	}
	return ok, nil
}

// lookup finds an account for a sign-in; nil if there is none.
func (s *Service) lookup(ctx context.Context, username string) (*store.Admin, error) {
	if checkUsername(username) != nil {
		return nil, nil
	}
	a, err := s.st.Admins().Get(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// Login checks an admin's password and issues a management API token. ttl
// 0 means the default. Failures count towards the console's sign-in
// throttling of the username (and of ip, the client's address, if known).
func (s *Service) Login(ctx context.Context, username, password, ip string, ttl time.Duration) (*Token, error) {
	if username == "" || password == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "username and password must be provided")
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		return nil, errs.New(protocol.ErrIllegalArgument, "ttl must be 1..%d seconds", int64(MaxTokenTTL/time.Second))
	}
	now := s.now()
	if err := s.throttled(username, ip, now); err != nil {
		return nil, err
	}
	a, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	ok, err := s.checkPassword(ctx, a, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.Throttle.Failed(username, ip, now)
		return nil, errs.New(protocol.ErrInvalidGrant, "invalid username or password")
	}
	s.Throttle.Succeeded(username)
	tok := newSecret("PA.")
	h := sha256.Sum256([]byte(tok))
	if err := s.st.Admins().CreateToken(ctx, h[:], a.ID, now.Add(ttl).UnixMilli(), now.UnixMilli()); err != nil {
		return nil, err
	}
	acct, err := s.account(ctx, a)
	if err != nil {
		return nil, err
	}
	return &Token{AccessToken: tok, ExpiresIn: int64(ttl / time.Second), Admin: acct}, nil
}

// Authenticate returns the account owning the bearer token in header.
func (s *Service) Authenticate(ctx context.Context, header string) (*Account, error) {
	scheme, tok, ok := strings.Cut(header, " ")
	if header == "" {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs an admin token (POST /management/token)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(tok, "PA.") || len(tok) > 128 {
		return nil, errs.New(protocol.ErrBadAccessToken, "not an admin token")
	}
	h := sha256.Sum256([]byte(tok))
	a, err := s.st.Admins().GetToken(ctx, h[:], s.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrBadAccessToken, "admin token is unknown, expired or revoked")
	}
	if err != nil {
		return nil, err
	}
	return s.account(ctx, a)
}

// newSecret returns prefix + 256 random bits (base64url).
func newSecret(prefix string) string {
	raw := make([]byte, 32)
	rand.Read(raw)
	return prefix + base64.RawURLEncoding.EncodeToString(raw)
}
