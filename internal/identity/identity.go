// Package identity issues and checks tokens: the Easemob token grants
// (client_credentials, password, inherit) and the bearer-token check that
// turns a request's token into a tenant.Principal.
package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// MaxTTL bounds the ttl a client may ask for (about 10 years); 0 still
// means "never expires".
const MaxTTL = 10 * 365 * 24 * 3600

// Service issues and verifies tokens.
type Service struct {
	st           store.Store
	users        *users.Service
	hasher       *auth.Hasher
	appTokenTTL  time.Duration
	userTokenTTL time.Duration
	now          func() time.Time
}

// NewService builds the service; the TTLs apply when a request has no ttl.
func NewService(st store.Store, u *users.Service, h *auth.Hasher, appTTL, userTTL time.Duration) *Service {
	return &Service{st: st, users: u, hasher: h, appTokenTTL: appTTL, userTokenTTL: userTTL, now: time.Now}
}

// TokenRequest is the body of POST /{org}/{app}/token.
type TokenRequest struct {
	GrantType      string
	ClientID       string
	ClientSecret   string
	Username       string
	Password       string
	AutoCreateUser bool
	TTL            *int64 // seconds; nil = default, 0 = never expires
}

// Token is an issued token.
type Token struct {
	AccessToken string
	ExpiresIn   int64 // seconds; 0 = never expires
	App         *tenant.App
	User        *store.User // nil for app tokens
}

func (s *Service) expiry(req *TokenRequest, def time.Duration) (expiresAt, expiresIn int64, err error) {
	ttl := int64(def / time.Second)
	if req.TTL != nil {
		ttl = *req.TTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return 0, 0, errs.New(protocol.ErrIllegalArgument, "ttl must be 0 (never expires) or 1..%d seconds", MaxTTL)
	}
	if ttl == 0 {
		return 0, 0, nil
	}
	return s.now().Unix() + ttl, ttl, nil
}

// Issue handles a token request. caller is whoever presented a bearer token
// with the request (needed for the inherit grant), or an anonymous principal.
func (s *Service) Issue(ctx context.Context, caller *tenant.Principal, req TokenRequest) (*Token, error) {
	app := caller.App
	switch req.GrantType {
	case "":
		return nil, errs.New(protocol.ErrIllegalArgument, "grant_type must be provided")
	case "client_credentials":
		if req.ClientID == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "client_id must be provided")
		}
		if req.ClientSecret == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "client_secret must be provided")
		}
		if req.ClientID != app.ClientID {
			return nil, errs.New(protocol.ErrInvalidGrant, "client_id does not match")
		}
		if !app.CheckSecret(req.ClientSecret) {
			return nil, errs.New(protocol.ErrInvalidGrant, "client_secret does not match")
		}
		exp, in, err := s.expiry(&req, s.appTokenTTL)
		if err != nil {
			return nil, err
		}
		tok := auth.Sign(auth.Claims{Kind: auth.KindApp, AppID: app.ID, IssuedAt: s.now().Unix(), ExpiresAt: exp}, app.TokenKey())
		return &Token{AccessToken: tok, ExpiresIn: in, App: app}, nil
	case "password":
		if req.Username == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "username must be provided")
		}
		if req.Password == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "password must be provided")
		}
		u, err := s.grantUser(ctx, app, req.Username)
		if err != nil {
			return nil, err
		}
		ok, err := s.hasher.Verify(ctx, req.Password, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.New(protocol.ErrInvalidGrant, "invalid username or password")
		}
		if !u.Activated {
			return nil, errs.New(protocol.ErrInvalidGrant, "user not activated")
		}
		return s.userToken(app, u, &req)
	case "inherit":
		if err := caller.RequireAdmin(); err != nil {
			return nil, err
		}
		if req.Username == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "username must be provided")
		}
		u, err := s.grantUser(ctx, app, req.Username)
		if errs.Is(err, protocol.ErrGrantUserNotFound) && req.AutoCreateUser {
			u, err = s.users.CreateForGrant(ctx, app, req.Username)
		}
		if err != nil {
			return nil, err
		}
		if !u.Activated {
			return nil, errs.New(protocol.ErrInvalidGrant, "user not activated")
		}
		return s.userToken(app, u, &req)
	}
	return nil, errs.New(protocol.ErrIllegalArgument, "unsupported grant_type %q: use client_credentials, password or inherit", req.GrantType)
}

func (s *Service) grantUser(ctx context.Context, app *tenant.App, username string) (*store.User, error) {
	u, err := s.users.Lookup(ctx, app, username)
	if errs.Is(err, protocol.ErrUserNotFound) {
		return nil, errs.New(protocol.ErrGrantUserNotFound, "user not found")
	}
	return u, err
}

func (s *Service) userToken(app *tenant.App, u *store.User, req *TokenRequest) (*Token, error) {
	exp, in, err := s.expiry(req, s.userTokenTTL)
	if err != nil {
		return nil, err
	}
	tok := auth.Sign(auth.Claims{Kind: auth.KindUser, AppID: app.ID, UserID: u.ID, IssuedAt: s.now().Unix(),
		ExpiresAt: exp, Epoch: u.TokenEpoch}, app.TokenKey())
	return &Token{AccessToken: tok, ExpiresIn: in, App: app, User: u}, nil
}

var errBadToken = errs.New(protocol.ErrBadAccessToken, "Unable to authenticate due to corrupt, expired, revoked or foreign access token")

// Authenticate turns the Authorization header value of a request to app into
// a principal. An empty header yields an anonymous principal.
func (s *Service) Authenticate(ctx context.Context, app *tenant.App, header string) (*tenant.Principal, error) {
	if header == "" {
		return &tenant.Principal{App: app}, nil
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, errs.New(protocol.ErrBadAccessToken, "Authorization header must be 'Bearer <token>'")
	}
	return s.Verify(ctx, app, strings.TrimSpace(tok))
}

// AppOf returns the app ID a token claims, without verifying it; the caller
// then verifies with that app (WebSocket logins carry no org/app path).
func AppOf(tok string) (int64, error) {
	p, err := auth.Parse(tok)
	if err != nil {
		return 0, errBadToken
	}
	return p.AppID, nil
}

// Verify checks a token for app and returns its principal.
func (s *Service) Verify(ctx context.Context, app *tenant.App, tok string) (*tenant.Principal, error) {
	p, err := auth.Parse(tok)
	if err != nil || p.AppID != app.ID {
		return nil, errBadToken
	}
	if err := p.Verify(app.TokenKey(), s.now()); err != nil {
		return nil, errBadToken
	}
	if p.Kind == auth.KindApp {
		return &tenant.Principal{App: app, Admin: true, ExpiresAt: p.ExpiresAt}, nil
	}
	u, err := s.st.Users().GetByID(ctx, app.ID, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !u.Activated || u.TokenEpoch != p.Epoch {
		return nil, errBadToken
	}
	return &tenant.Principal{App: app, UserID: u.ID, Username: u.Username, ExpiresAt: p.ExpiresAt}, nil
}
