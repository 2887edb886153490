// Package users is the user-account domain: registration, lookup, listing,
// profile and password changes, activation. Every method takes the caller
// (a tenant.Principal) and enforces who may do what; transports only adapt.
package users

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Limits (documented in docs/rest.md).
const (
	MaxUsernameBytes = 64
	MaxPasswordChars = 64
	MaxNicknameChars = 100
	MaxBatch         = 60
	MaxPageLimit     = 100
	DefaultPageLimit = 10
)

// Service is the user-account domain service.
type Service struct {
	inv    *bus.Invalidator
	st     store.Store
	hasher *auth.Hasher
	now    func() time.Time
	cache  resolveCache

	// OnRevoke, if set, runs after a user is deactivated or deleted (the
	// composition root closes the user's connections).
	OnRevoke func(ctx context.Context, appID, userID int64)

	// CheckNickname, if set, sees every nickname a create or update sets,
	// after the length rules: it may refuse it or return it changed
	// (content moderation). Set it before traffic starts.
	CheckNickname func(ctx context.Context, app *tenant.App, username, nickname string) (string, error)
}

// nickname applies checkNickname and the CheckNickname hook.
func (s *Service) nickname(ctx context.Context, app *tenant.App, username, n string) (string, error) {
	if err := checkNickname(n); err != nil {
		return "", err
	}
	if s.CheckNickname == nil || n == "" {
		return n, nil
	}
	return s.CheckNickname(ctx, app, username, n)
}

func (s *Service) revoked(ctx context.Context, appID, userID int64) {
	if s.OnRevoke != nil {
		s.OnRevoke(ctx, appID, userID)
	}
}

// NewService builds the service.
func NewService(st store.Store, h *auth.Hasher) *Service {
	return &Service{st: st, hasher: h, now: time.Now}
}

// NewUser is a registration request.
type NewUser struct {
	Username string
	Password string
	Nickname string
}

// Failure is one rejected item of a batch registration.
type Failure struct {
	Username string `json:"username"`
	Reason   string `json:"registerUserFailReason"`
}

// NormalizeUsername validates a username and returns its canonical (lower
// case) form. Usernames are case-insensitive, as in Easemob.
func NormalizeUsername(name string) (string, error) {
	if name == "" {
		return "", errs.New(protocol.ErrIllegalArgument, "username must be provided")
	}
	if len(name) > MaxUsernameBytes {
		return "", errs.New(protocol.ErrIllegalArgument, "USERNAME_TOO_LONG: username is %d bytes, the limit is %d", len(name), MaxUsernameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", errs.New(protocol.ErrIllegalArgument, "username %q: only letters, digits, '_', '.' and '-' are allowed", name)
		}
	}
	return strings.ToLower(name), nil
}

func checkPassword(pw string) error {
	if pw == "" {
		return errs.New(protocol.ErrIllegalArgument, "password or pin must provided")
	}
	if utf8.RuneCountInString(pw) > MaxPasswordChars {
		return errs.New(protocol.ErrIllegalArgument, "password is longer than %d characters", MaxPasswordChars)
	}
	return nil
}

func checkNickname(n string) error {
	if !utf8.ValidString(n) {
		return errs.New(protocol.ErrIllegalArgument, "nickname is not valid UTF-8")
	}
	if utf8.RuneCountInString(n) > MaxNicknameChars {
		return errs.New(protocol.ErrIllegalArgument, "NICKNAME_TOO_LONG: nickname is longer than %d characters", MaxNicknameChars)
	}
	return nil
}

func (s *Service) canRegister(p *tenant.Principal) error {
	if p.App.Settings.OpenRegistration {
		return nil
	}
	if p.Anonymous() {
		return errs.New(protocol.ErrUnauthorized, "Open registration doesn't allow, so register user need token")
	}
	return p.RequireAdmin()
}

// prepare validates and hashes one registration.
func (s *Service) prepare(ctx context.Context, app *tenant.App, in NewUser) (*store.User, error) {
	name, err := NormalizeUsername(in.Username)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(in.Password); err != nil {
		return nil, err
	}
	nick, err := s.nickname(ctx, app, name, in.Nickname)
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	return &store.User{AppID: app.ID, UUID: uuid.NewString(), Username: name, Nickname: nick, PasswordHash: hash,
		Activated: true, NotificationDisplayStyle: -1, NoDisturbingStart: -1, NoDisturbingEnd: -1,
		Created: now, Modified: now}, nil
}

// Register creates one user.
func (s *Service) Register(ctx context.Context, p *tenant.Principal, in NewUser) (*store.User, error) {
	if err := s.canRegister(p); err != nil {
		return nil, err
	}
	u, err := s.prepare(ctx, p.App, in)
	if err != nil {
		return nil, err
	}
	if err := s.st.Users().Create(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errs.New(protocol.ErrDuplicateUser, "Entity user requires that property named username be unique, value of %s exists", u.Username)
		}
		return nil, err
	}
	return u, nil
}

// RegisterBatch creates up to MaxBatch users. Items that fail validation or
// clash are reported in the failures; the others are created together.
func (s *Service) RegisterBatch(ctx context.Context, p *tenant.Principal, in []NewUser) ([]*store.User, []Failure, error) {
	if err := s.canRegister(p); err != nil {
		return nil, nil, err
	}
	if len(in) == 0 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "the user array is empty")
	}
	if len(in) > MaxBatch {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "at most %d users per batch, got %d", MaxBatch, len(in))
	}
	prepared := make([]*store.User, len(in))
	perr := make([]error, len(in))
	var wg sync.WaitGroup
	for i := range in {
		wg.Add(1)
		go func() { // the hasher bounds how many run at once
			defer wg.Done()
			prepared[i], perr[i] = s.prepare(ctx, p.App, in[i])
		}()
	}
	wg.Wait()
	var failures []Failure
	var ok []*store.User
	for i, err := range perr {
		if err == nil {
			ok = append(ok, prepared[i])
			continue
		}
		e, isDomain := errs.As(err)
		if !isDomain {
			return nil, nil, err
		}
		failures = append(failures, Failure{Username: in[i].Username, Reason: e.Description})
	}
	if len(ok) == 0 {
		return nil, failures, nil
	}
	cerrs, err := s.st.Users().CreateBatch(ctx, ok)
	if err != nil {
		return nil, nil, err
	}
	var created []*store.User
	for i, err := range cerrs {
		if err != nil {
			failures = append(failures, Failure{Username: ok[i].Username, Reason: "username " + ok[i].Username + " already exists"})
			continue
		}
		created = append(created, ok[i])
	}
	return created, failures, nil
}

func (s *Service) get(ctx context.Context, app *tenant.App, username string) (*store.User, error) {
	u, err := s.st.Users().Get(ctx, app.ID, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(username)
	}
	return u, err
}

func notFound(username string) error {
	return errs.New(protocol.ErrUserNotFound, "Service resource not found: user %s", username)
}

// canonical validates a username from a path and authorises the caller to
// act on it.
func canonical(p *tenant.Principal, username string, selfAllowed bool) (string, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return "", err
	}
	if selfAllowed {
		return name, p.RequireSelfOrAdmin(name)
	}
	return name, p.RequireAdmin()
}

// Get returns one user. A user token may read its own user.
func (s *Service) Get(ctx context.Context, p *tenant.Principal, username string) (*store.User, error) {
	name, err := canonical(p, username, true)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, p.App, name)
}

// Lookup returns a user without authorisation checks, for other domain
// services (tokens) that have already decided the caller may see it.
func (s *Service) Lookup(ctx context.Context, app *tenant.App, username string) (*store.User, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, app, name)
}

// Page is one page of users.
type Page struct {
	Users  []store.User
	Cursor string // empty on the last page
}

func encodeCursor(id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8 {
		return 0, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", c)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// pageLimit authorises a paged admin call and applies the limit rules.
func pageLimit(p *tenant.Principal, limit int) (int, error) {
	if err := p.RequireAdmin(); err != nil {
		return 0, err
	}
	if limit == 0 {
		return DefaultPageLimit, nil
	}
	if limit < 1 || limit > MaxPageLimit {
		return 0, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d, got %d", MaxPageLimit, limit)
	}
	return limit, nil
}

// List pages through the app's users in creation order (app token only).
func (s *Service) List(ctx context.Context, p *tenant.Principal, limit int, cursor string) (*Page, error) {
	limit, err := pageLimit(p, limit)
	if err != nil {
		return nil, err
	}
	after := int64(0)
	if cursor != "" {
		if after, err = decodeCursor(cursor); err != nil {
			return nil, err
		}
	}
	list, err := s.st.Users().List(ctx, p.App.ID, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &Page{Users: list}
	if len(list) > limit {
		page.Users = list[:limit]
		page.Cursor = encodeCursor(list[limit-1].ID)
	}
	return page, nil
}

// MaxSearchLimit bounds one page of Search.
const MaxSearchLimit = 200

// Search pages through the app's users whose username starts with prefix
// (case-insensitive, as usernames are), by username (app token only). The
// cursor is opaque.
func (s *Service) Search(ctx context.Context, p *tenant.Principal, prefix string, limit int, cursor string) (*Page, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d, got %d", MaxSearchLimit, limit)
	}
	if len(prefix) > MaxUsernameBytes {
		return &Page{}, nil
	}
	prefix = strings.ToLower(prefix)
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > MaxUsernameBytes {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
		after = string(b)
	}
	list, err := s.st.Users().Search(ctx, p.App.ID, prefix, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &Page{Users: list}
	if len(list) > limit {
		page.Users = list[:limit]
		page.Cursor = base64.RawURLEncoding.EncodeToString([]byte(list[limit-1].Username))
	}
	return page, nil
}

// Delete removes one user (app token only).
func (s *Service) Delete(ctx context.Context, p *tenant.Principal, username string) (*store.User, error) {
	name, err := canonical(p, username, false)
	if err != nil {
		return nil, err
	}
	u, err := s.st.Users().Delete(ctx, p.App.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(name)
	}
	if err == nil {
		s.forget(p.App.ID, u.Username)
		s.revoked(ctx, p.App.ID, u.ID)
	}
	return u, err
}

// Erase removes one user and what the database holds about them
// (store.UserStore.Erase; app token only). It is the last step of a full
// erasure (package erasure), which ends group and room memberships first
// and deletes the returned files' bytes after.
func (s *Service) Erase(ctx context.Context, p *tenant.Principal, username string) (*store.Erasure, error) {
	name, err := canonical(p, username, false)
	if err != nil {
		return nil, err
	}
	er, err := s.st.Users().Erase(ctx, p.App.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, err
	}
	s.forget(p.App.ID, er.User.Username)
	s.revoked(ctx, p.App.ID, er.User.ID)
	return er, nil
}

// DeleteOldest removes the limit oldest users (app token only), as Easemob's
// DELETE /users does. The cursor says whether users remain.
func (s *Service) DeleteOldest(ctx context.Context, p *tenant.Principal, limit int) (*Page, error) {
	limit, err := pageLimit(p, limit)
	if err != nil {
		return nil, err
	}
	list, err := s.st.Users().DeleteOldest(ctx, p.App.ID, limit)
	if err != nil {
		return nil, err
	}
	for _, u := range list {
		s.forget(p.App.ID, u.Username)
		s.revoked(ctx, p.App.ID, u.ID)
	}
	page := &Page{Users: list}
	if left, err := s.st.Users().Count(ctx, p.App.ID); err == nil && left > 0 && len(list) > 0 {
		page.Cursor = encodeCursor(list[len(list)-1].ID)
	}
	return page, nil
}

// SetPassword changes a user's password. A user may change their own.
// Issued tokens stay valid (as in Easemob); deactivate to revoke them.
func (s *Service) SetPassword(ctx context.Context, p *tenant.Principal, username, newPassword string) error {
	name, err := canonical(p, username, true)
	if err != nil {
		return err
	}
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	err = s.st.Users().SetPassword(ctx, p.App.ID, name, hash, s.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return notFound(name)
	}
	return err
}

// Profile is a change to a user's profile and push display fields; nil
// fields are left alone.
type Profile struct {
	Nickname                 *string
	NotificationDisplayStyle *int
	NoDisturbing             *bool
	NoDisturbingStart        *int
	NoDisturbingEnd          *int
}

// Update changes profile fields. A user may update their own.
func (s *Service) Update(ctx context.Context, p *tenant.Principal, username string, in Profile) (*store.User, error) {
	name, err := canonical(p, username, true)
	if err != nil {
		return nil, err
	}
	if in.Nickname != nil {
		n, err := s.nickname(ctx, p.App, name, *in.Nickname)
		if err != nil {
			return nil, err
		}
		in.Nickname = &n
	}
	if v := in.NotificationDisplayStyle; v != nil && *v != 0 && *v != 1 {
		return nil, errs.New(protocol.ErrIllegalArgument, "notification_display_style must be 0 or 1, got %d", *v)
	}
	for _, h := range []struct {
		field string
		v     *int
	}{{"notification_no_disturbing_start", in.NoDisturbingStart}, {"notification_no_disturbing_end", in.NoDisturbingEnd}} {
		if h.v != nil && (*h.v < 0 || *h.v > 23) {
			return nil, errs.New(protocol.ErrIllegalArgument, "%s must be an hour 0..23, got %d", h.field, *h.v)
		}
	}
	if in == (Profile{}) {
		return nil, errs.New(protocol.ErrIllegalArgument, "nothing to update: give nickname, notification_display_style or notification_no_disturbing fields")
	}
	u, err := s.st.Users().Update(ctx, p.App.ID, name, store.UserPatch(in), s.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(name)
	}
	return u, err
}

// SetActivated deactivates (bans) or activates a user (app token only).
// Deactivation revokes every token the user holds.
func (s *Service) SetActivated(ctx context.Context, p *tenant.Principal, username string, activated bool) (*store.User, error) {
	name, err := canonical(p, username, false)
	if err != nil {
		return nil, err
	}
	u, err := s.st.Users().SetActivated(ctx, p.App.ID, name, activated, !activated, s.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(name)
	}
	if err == nil && !activated {
		s.revoked(ctx, p.App.ID, u.ID)
	}
	return u, err
}

// CreateForGrant creates a user with an unusable random password, for the
// inherit grant's autoCreateUser. On a concurrent create it returns the
// user that won.
func (s *Service) CreateForGrant(ctx context.Context, app *tenant.App, username string) (*store.User, error) {
	u, err := s.prepare(ctx, app, NewUser{Username: username, Password: uuid.NewString()})
	if err != nil {
		return nil, err
	}
	err = s.st.Users().Create(ctx, u)
	if errors.Is(err, store.ErrConflict) {
		return s.get(ctx, app, u.Username)
	}
	if err != nil {
		return nil, fmt.Errorf("auto-create user: %w", err)
	}
	return u, nil
}
