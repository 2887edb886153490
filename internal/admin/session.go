package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// SessionTTL is how long a console session lives after its last use
// (sliding).
const SessionTTL = 12 * time.Hour

// sessionSlide is how stale a session's expiry may get before a request
// pushes it forward: the expiry is rewritten at most once a minute, not on
// every request.
const sessionSlide = time.Minute

const sessionPrefix = "PC."

// Session is a signed-in console session.
type Session struct {
	Account *Account
	// CSRF is the token every request but GET and HEAD must carry. It is
	// derived from the session's secret (an HMAC keyed with it), so it is
	// never stored and dies with the session.
	CSRF    string
	Expires time.Time
	// Extended reports that this request moved the expiry forward (the
	// transport then refreshes the cookie's lifetime).
	Extended bool

	hash []byte
}

// CheckCSRF reports whether token is the session's CSRF token.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

func csrfOf(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("parley console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ThrottledError is a sign-in refused because of too many failures; the
// caller may retry after RetryAfter. It wraps an *errs.Error (rate_limited).
type ThrottledError struct {
	Err        *errs.Error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// throttled refuses a sign-in that must wait.
func (s *Service) throttled(username, ip string, now time.Time) error {
	wait := s.Throttle.Wait(username, ip, now)
	if wait <= 0 {
		return nil
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	return &ThrottledError{RetryAfter: wait, Err: errs.New(protocol.ErrRateLimited, "too many failed sign-ins; try again in %d seconds", secs)}
}

// SignInResult tells the audit log how a sign-in went, without secrets.
type SignInResult string

// Sign-in outcomes.
const (
	SignedIn       SignInResult = "ok"
	BadPassword    SignInResult = "bad_password"
	UnknownAccount SignInResult = "unknown_account"
	Throttled      SignInResult = "throttled"
)

// SignIn checks a console account's password from a client IP and starts a
// session. It returns the session's secret (the cookie value) and the
// session. Failures are throttled per username and per IP (Throttle);
// the result says what happened for the audit log, also on failure.
func (s *Service) SignIn(ctx context.Context, username, password, ip string) (string, *Session, SignInResult, error) {
	now := s.now()
	if err := s.throttled(username, ip, now); err != nil {
		return "", nil, Throttled, err
	}
	if username == "" || password == "" {
		return "", nil, BadPassword, errs.New(protocol.ErrIllegalArgument, "username and password must be provided")
	}
	a, err := s.lookup(ctx, username)
	if err != nil {
		return "", nil, "", err
	}
	ok, err := s.checkPassword(ctx, a, password)
	if err != nil {
		return "", nil, "", err
	}
	if !ok {
		s.Throttle.Failed(username, ip, now)
		res := BadPassword
		if a == nil {
			res = UnknownAccount
		}
		return "", nil, res, errs.New(protocol.ErrInvalidGrant, "invalid username or password")
	}
	s.Throttle.Succeeded(username)
	// Sessions that ran out are removed now and then; this is a good time.
	if err := s.st.Admins().DeleteExpiredSessions(ctx, now.UnixMilli()); err != nil {
		s.log.Warn("remove expired console sessions", "err", err)
	}
	secret := newSecret(sessionPrefix)
	ss := &store.AdminSession{Hash: hashOf(secret), AdminID: a.ID, Created: now.UnixMilli(), Expires: now.Add(SessionTTL).UnixMilli()}
	if err := s.st.Admins().CreateSession(ctx, ss); err != nil {
		return "", nil, "", err
	}
	acct, err := s.account(ctx, a)
	if err != nil {
		return "", nil, "", err
	}
	return secret, &Session{Account: acct, CSRF: csrfOf(secret), Expires: time.UnixMilli(ss.Expires), hash: ss.Hash}, SignedIn, nil
}

var errNoSession = errs.New(protocol.ErrUnauthorized, "not signed in, or the session ended; sign in again")

// Session returns the live session whose secret (the cookie value) is
// given, sliding its expiry forward.
func (s *Service) Session(ctx context.Context, secret string) (*Session, error) {
	if !strings.HasPrefix(secret, sessionPrefix) || len(secret) > 128 {
		return nil, errNoSession
	}
	h := hashOf(secret)
	now := s.now()
	ss, a, err := s.st.Admins().GetSession(ctx, h, now.UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	acct, err := s.account(ctx, a)
	if err != nil {
		return nil, err
	}
	out := &Session{Account: acct, CSRF: csrfOf(secret), Expires: time.UnixMilli(ss.Expires), hash: h}
	if next := now.Add(SessionTTL); next.Sub(out.Expires) >= sessionSlide {
		if err := s.st.Admins().ExtendSession(ctx, h, next.UnixMilli()); errors.Is(err, store.ErrNotFound) {
			return nil, errNoSession // signed out meanwhile
		} else if err != nil {
			return nil, err
		}
		out.Expires, out.Extended = time.UnixMilli(next.UnixMilli()), true
	}
	return out, nil
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, sess *Session) error {
	return s.st.Admins().DeleteSession(ctx, sess.hash)
}

// SignOutEverywhere ends every session of the session's account, and its
// management API tokens.
func (s *Service) SignOutEverywhere(ctx context.Context, sess *Session) error {
	return s.endAll(ctx, sess.Account.ID, nil)
}

// endAll ends an account's sessions but keep (nil: all) and its tokens.
func (s *Service) endAll(ctx context.Context, adminID int64, keep []byte) error {
	if err := s.st.Admins().DeleteSessions(ctx, adminID, keep); err != nil {
		return err
	}
	return s.st.Admins().DeleteTokens(ctx, adminID)
}

// ChangePassword changes the session's own password after checking the
// old one. Every other session of the account, and its management API
// tokens, end; this one stays.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, old, new string) error {
	a, err := s.st.Admins().Get(ctx, sess.Account.Username)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSession
	}
	if err != nil {
		return err
	}
	ok, err := s.checkPassword(ctx, a, old)
	if err != nil {
		return err
	}
	if !ok {
		return errs.New(protocol.ErrInvalidGrant, "the current password is wrong")
	}
	if err := CheckPassword(new); err != nil {
		return err
	}
	if old == new {
		return errs.New(protocol.ErrIllegalArgument, "the new password is the old one")
	}
	if a.PasswordHash, err = s.hasher.Hash(ctx, new); err != nil {
		return err
	}
	a.Modified = s.now().UnixMilli()
	if err := s.st.Admins().Update(ctx, a); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.endAll(ctx, a.ID, sess.hash)
}
