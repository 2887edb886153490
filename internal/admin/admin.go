package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// DefaultTokenTTL is the lifetime of an admin token when none is asked for.
const DefaultTokenTTL = 24 * time.Hour

// MaxTokenTTL bounds admin tokens.
const MaxTokenTTL = 30 * 24 * time.Hour

// Service signs console/management admins in and checks their tokens.
// Admin tokens are opaque random strings; only their SHA-256 is stored, so
// they can be revoked (sign out everywhere) and a database leak reveals none.
type Service struct {
	st     store.Store
	hasher *auth.Hasher
	now    func() time.Time
}

// NewService builds the service.
func NewService(st store.Store, h *auth.Hasher) *Service {
	return &Service{st: st, hasher: h, now: time.Now}
}

// Token is an issued admin token.
type Token struct {
	AccessToken string
	ExpiresIn   int64
	Admin       *store.Admin
}

// Login checks an admin's password and issues a token. ttl 0 means the default.
func (s *Service) Login(ctx context.Context, username, password string, ttl time.Duration) (*Token, error) {
	if username == "" || password == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "username and password must be provided")
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		return nil, errs.New(protocol.ErrIllegalArgument, "ttl must be 1..%d seconds", int64(MaxTokenTTL/time.Second))
	}
	a, err := s.st.Admins().Get(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrInvalidGrant, "invalid username or password")
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, password, a.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.New(protocol.ErrInvalidGrant, "invalid username or password")
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := "PA." + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(tok))
	now := s.now()
	if err := s.st.Admins().CreateToken(ctx, h[:], a.ID, now.Add(ttl).UnixMilli(), now.UnixMilli()); err != nil {
		return nil, err
	}
	return &Token{AccessToken: tok, ExpiresIn: int64(ttl / time.Second), Admin: a}, nil
}

// Authenticate returns the admin owning the bearer token in header.
func (s *Service) Authenticate(ctx context.Context, header string) (*store.Admin, error) {
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
	return a, err
}
