// Package tenant manages apps (tenants): an org owns apps, an app is addressed
// as /{org}/{app} and has the appkey "org#app", a client_id and a
// client_secret. It also defines Principal, the caller of a domain method.
package tenant

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// Settings are an app's feature switches. Unknown JSON keys are kept out:
// the document is always rewritten from this struct.
type Settings struct {
	// OpenRegistration lets anyone register users without an app token.
	OpenRegistration bool `json:"open_registration"`
	// MaxDevices is how many devices of one user may be online at once
	// (0: DefaultMaxDevices).
	MaxDevices int `json:"max_devices,omitempty"`
	// DeviceOverflow says what a login over MaxDevices does:
	// OverflowKickOldest (default) or OverflowReject.
	DeviceOverflow string `json:"device_overflow,omitempty"`
	// RecallWindowSeconds is how long after sending a user may recall a
	// message (0: DefaultRecallWindow).
	RecallWindowSeconds int `json:"recall_window_seconds,omitempty"`
	// MaxMessageBytes bounds body+ext of a message (0: DefaultMaxMessageBytes).
	MaxMessageBytes int `json:"max_message_bytes,omitempty"`
	// MaxFileBytes bounds one uploaded file (0: DefaultMaxFileBytes).
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
	// FriendsOnly delivers 1:1 messages between friends only.
	FriendsOnly bool `json:"friends_only,omitempty"`
	// RoomRecentMessages is how many recent messages a chat room joiner
	// gets (0: DefaultRoomRecent).
	RoomRecentMessages int `json:"room_recent_messages,omitempty"`
	// RoomGraceSeconds is how long a room member may have no device
	// connected before leaving the room (0: DefaultRoomGrace).
	RoomGraceSeconds int `json:"room_grace_seconds,omitempty"`
	// RoomMaxUsers caps a chat room's maxusers (0: DefaultRoomMaxUsers).
	RoomMaxUsers int `json:"room_max_users,omitempty"`
	// EditDisabled turns message editing off.
	EditDisabled bool `json:"edit_disabled,omitempty"`
	// MaxEdits bounds the edits of one message (0: DefaultMaxEdits).
	MaxEdits int `json:"max_edits,omitempty"`
	// RateLimits overrides the limits of some rate limit classes, class ->
	// "N/s", "N/m", "N/s burst B" or "off" (DefaultRateLimits for the rest).
	RateLimits map[string]string `json:"rate_limits,omitempty"`
}

// Defaults for Settings fields left at zero.
const (
	DefaultMaxDevices      = 4
	DefaultRecallWindow    = 2 * time.Minute
	DefaultMaxMessageBytes = 5 * 1024
	DefaultMaxFileBytes    = 10 << 20
	DefaultRoomRecent      = 10
	DefaultRoomGrace       = 2 * time.Minute
	DefaultRoomMaxUsers    = 10_000
	DefaultMaxEdits        = 10
	MaxFileBytesLimit      = 2 << 30
	OverflowKickOldest     = "kick_oldest"
	OverflowReject         = "reject"
)

// Devices returns the effective device limit.
func (s Settings) Devices() int {
	if s.MaxDevices > 0 {
		return s.MaxDevices
	}
	return DefaultMaxDevices
}

// RejectOverflow reports whether logins over the device limit are refused.
func (s Settings) RejectOverflow() bool { return s.DeviceOverflow == OverflowReject }

// Edits returns the effective limit of edits per message.
func (s Settings) Edits() int {
	if s.MaxEdits > 0 {
		return s.MaxEdits
	}
	return DefaultMaxEdits
}

// RecallWindow returns the effective recall window.
func (s Settings) RecallWindow() time.Duration {
	if s.RecallWindowSeconds > 0 {
		return time.Duration(s.RecallWindowSeconds) * time.Second
	}
	return DefaultRecallWindow
}

// MessageBytes returns the effective message size limit.
func (s Settings) MessageBytes() int {
	if s.MaxMessageBytes > 0 {
		return s.MaxMessageBytes
	}
	return DefaultMaxMessageBytes
}

// RoomRecent returns how many recent messages a room joiner gets.
func (s Settings) RoomRecent() int {
	if s.RoomRecentMessages > 0 {
		return s.RoomRecentMessages
	}
	return DefaultRoomRecent
}

// RoomGrace returns how long a room member may be offline.
func (s Settings) RoomGrace() time.Duration {
	if s.RoomGraceSeconds > 0 {
		return time.Duration(s.RoomGraceSeconds) * time.Second
	}
	return DefaultRoomGrace
}

// RoomMax returns the largest maxusers a room may have.
func (s Settings) RoomMax() int {
	if s.RoomMaxUsers > 0 {
		return s.RoomMaxUsers
	}
	return DefaultRoomMaxUsers
}

// FileBytes returns the effective upload size limit.
func (s Settings) FileBytes() int64 {
	if s.MaxFileBytes > 0 {
		return s.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// Validate checks the settings.
func (s Settings) Validate() error {
	switch {
	case s.MaxDevices < 0 || s.MaxDevices > 100:
		return errs.New(protocol.ErrIllegalArgument, "max_devices must be 0..100")
	case s.DeviceOverflow != "" && s.DeviceOverflow != OverflowKickOldest && s.DeviceOverflow != OverflowReject:
		return errs.New(protocol.ErrIllegalArgument, "device_overflow must be %s or %s", OverflowKickOldest, OverflowReject)
	case s.RecallWindowSeconds < 0 || s.RecallWindowSeconds > 7*24*3600:
		return errs.New(protocol.ErrIllegalArgument, "recall_window_seconds must be 0..604800 (7 days)")
	case s.MaxEdits < 0 || s.MaxEdits > 100:
		return errs.New(protocol.ErrIllegalArgument, "max_edits must be 0..100")
	case s.MaxMessageBytes < 0 || s.MaxMessageBytes > 60*1024:
		return errs.New(protocol.ErrIllegalArgument, "max_message_bytes must be 0..61440")
	case s.RoomRecentMessages < 0 || s.RoomRecentMessages > 100:
		return errs.New(protocol.ErrIllegalArgument, "room_recent_messages must be 0..100")
	case s.RoomGraceSeconds < 0 || s.RoomGraceSeconds > 7*24*3600:
		return errs.New(protocol.ErrIllegalArgument, "room_grace_seconds must be 0..604800")
	case s.RoomMaxUsers < 0 || s.RoomMaxUsers > 1_000_000:
		return errs.New(protocol.ErrIllegalArgument, "room_max_users must be 0..1000000")
	case s.MaxFileBytes < 0 || s.MaxFileBytes > MaxFileBytesLimit:
		return errs.New(protocol.ErrIllegalArgument, "max_file_bytes must be 0..%d (2 GiB)", int64(MaxFileBytesLimit))
	}
	return validRateLimits(s.RateLimits)
}

// Patch returns s with the settings named in patch (by their JSON names, as
// in the documents and `parley app set --setting`) replaced; rate_limits is
// merged class by class (a class set to null goes back to its default). Unknown names
// and values of the wrong type are refused; the result is validated.
func (s Settings) Patch(patch map[string]json.RawMessage) (Settings, error) {
	cur, _ := json.Marshal(s)
	var m map[string]json.RawMessage
	json.Unmarshal(cur, &m)
	for k, v := range patch {
		m[k] = v
	}
	if v, ok := patch["rate_limits"]; ok {
		merged, err := mergeRateLimits(s.RateLimits, v)
		if err != nil {
			return s, err
		}
		m["rate_limits"] = merged
	}
	b, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var out Settings
	if err := dec.Decode(&out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return s, errs.New(protocol.ErrIllegalArgument, "setting %s must be a %s", te.Field, te.Type.Kind())
		}
		return s, errs.New(protocol.ErrIllegalArgument, "settings: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return out, out.Validate()
}

// App is a resolved tenant.
type App struct {
	ID       int64
	UUID     string
	Org      string
	Name     string
	ClientID string
	Settings Settings
	Created  int64
	Modified int64

	secretHash []byte
	tokenKey   []byte
}

// AppKey is "org#app".
func (a *App) AppKey() string { return a.Org + "#" + a.Name }

// TokenKey is the key that signs and verifies the app's tokens.
func (a *App) TokenKey() []byte { return a.tokenKey }

// CheckSecret reports whether secret is the app's client secret.
func (a *App) CheckSecret(secret string) bool {
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], a.secretHash) == 1
}

// Principal is who calls a domain method: an app admin (app token) or one
// user (user token), or nobody (no token). Services decide what each may do.
type Principal struct {
	App      *App
	Admin    bool
	UserID   int64
	Username string
	// Resource is the device a user acts from (WebSocket sessions).
	Resource string
	// ExpiresAt is when the presented token expires (Unix seconds; 0 =
	// never). Long-lived sessions end then.
	ExpiresAt int64
}

// AdminOf is the app-admin principal of app: what an app token gives, for
// callers authenticated another way (console accounts, whose role and app
// scope the transport has checked).
func AdminOf(app *App) *Principal { return &Principal{App: app, Admin: true} }

// Anonymous reports whether no token was presented.
func (p *Principal) Anonymous() bool { return p == nil || (!p.Admin && p.UserID == 0) }

// IsUser reports whether p is the user with this (lower-case) username.
func (p *Principal) IsUser(username string) bool {
	return p != nil && !p.Admin && p.UserID != 0 && p.Username == username
}

// RequireAdmin fails unless p holds an app token.
func (p *Principal) RequireAdmin() error {
	switch {
	case p.Anonymous():
		return errs.New(protocol.ErrUnauthorized, "this call needs an app token")
	case !p.Admin:
		return errs.New(protocol.ErrForbidden, "this call needs an app token; a user token may not do it")
	}
	return nil
}

// RequireSelfOrAdmin fails unless p is an app admin or the named user.
func (p *Principal) RequireSelfOrAdmin(username string) error {
	switch {
	case p.Anonymous():
		return errs.New(protocol.ErrUnauthorized, "this call needs a token")
	case p.Admin || p.IsUser(username):
		return nil
	}
	return errs.New(protocol.ErrForbidden, "a user token may only act on its own user")
}

// Service manages apps.
type Service struct {
	st  store.Store
	now func() time.Time
}

// NewService builds the app service.
func NewService(st store.Store) *Service { return &Service{st: st, now: time.Now} }

// ReservedOrgs are first path segments the server uses itself.
var ReservedOrgs = map[string]bool{"management": true, "console": true, "healthz": true, "readyz": true,
	"metrics": true, "ws": true, "demo": true, "static": true}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// Created is a new app with its client secret, shown once.
type Created struct {
	AppKey       string `json:"appkey"`
	OrgName      string `json:"org_name"`
	AppName      string `json:"app_name"`
	UUID         string `json:"application"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Created      int64  `json:"created"`
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newCredentials() (secret string, hash, tokenKey []byte) {
	secret = "SC" + randHex(20)
	h := sha256.Sum256([]byte(secret))
	tokenKey = make([]byte, 32)
	rand.Read(tokenKey)
	return secret, h[:], tokenKey
}

// Create makes a new app.
func (s *Service) Create(ctx context.Context, org, name string, settings Settings) (*Created, error) {
	for _, v := range []struct{ field, val string }{{"org_name", org}, {"app_name", name}} {
		if !nameRE.MatchString(v.val) {
			return nil, errs.New(protocol.ErrIllegalArgument,
				"%s %q: use 1-64 letters, digits, '_' or '-', starting with a letter or digit", v.field, v.val)
		}
	}
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	if ReservedOrgs[org] {
		return nil, errs.New(protocol.ErrIllegalArgument, "org_name %q is reserved", org)
	}
	doc, _ := json.Marshal(settings)
	secret, hash, key := newCredentials()
	now := s.now().UnixMilli()
	a := &store.App{UUID: uuid.NewString(), Org: org, Name: name, ClientID: "YXA6" + randHex(16),
		ClientSecretHash: hash, TokenKey: key, Settings: doc, Created: now, Modified: now}
	if err := s.st.Apps().Create(ctx, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errs.New(protocol.ErrIllegalArgument, "app %s#%s already exists", org, name)
		}
		return nil, err
	}
	return &Created{AppKey: org + "#" + name, OrgName: org, AppName: name, UUID: a.UUID, ClientID: a.ClientID,
		ClientSecret: secret, Created: now}, nil
}

func fromStore(a *store.App) (*App, error) {
	out := &App{ID: a.ID, UUID: a.UUID, Org: a.Org, Name: a.Name, ClientID: a.ClientID, Created: a.Created,
		Modified: a.Modified, secretHash: a.ClientSecretHash, tokenKey: a.TokenKey}
	if err := json.Unmarshal(a.Settings, &out.Settings); err != nil {
		return nil, fmt.Errorf("app %d settings: %w", a.ID, err)
	}
	return out, nil
}

// Resolve finds an app by org and app name.
func (s *Service) Resolve(ctx context.Context, org, name string) (*App, error) {
	a, err := s.st.Apps().GetByName(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrAppNotFound, "Could not find application for %s/%s from URI", org, name)
	}
	if err != nil {
		return nil, err
	}
	return fromStore(a)
}

// ByID finds an app by its ID (tokens carry it).
func (s *Service) ByID(ctx context.Context, id int64) (*App, error) {
	a, err := s.st.Apps().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrAppNotFound, "no application %d", id)
	}
	if err != nil {
		return nil, err
	}
	return fromStore(a)
}

// ListOrg returns the apps of one org.
func (s *Service) ListOrg(ctx context.Context, org string) ([]*App, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []*App
	for _, a := range all {
		if a.Org == org {
			out = append(out, a)
		}
	}
	return out, nil
}

// List returns every app.
func (s *Service) List(ctx context.Context) ([]*App, error) {
	list, err := s.st.Apps().List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*App, 0, len(list))
	for i := range list {
		a, err := fromStore(&list[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// RotateSecret gives the app a new client secret and token key; every token
// issued before stops working.
func (s *Service) RotateSecret(ctx context.Context, org, name string) (*Created, error) {
	a, err := s.Resolve(ctx, org, name)
	if err != nil {
		return nil, err
	}
	secret, hash, key := newCredentials()
	if err := s.st.Apps().SetCredentials(ctx, a.ID, hash, key, s.now().UnixMilli()); err != nil {
		return nil, err
	}
	return &Created{AppKey: a.AppKey(), OrgName: a.Org, AppName: a.Name, UUID: a.UUID, ClientID: a.ClientID,
		ClientSecret: secret, Created: a.Created}, nil
}

// SetSettings replaces the app's settings.
func (s *Service) SetSettings(ctx context.Context, org, name string, set Settings) (*App, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	a, err := s.Resolve(ctx, org, name)
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(set)
	if err := s.st.Apps().SetSettings(ctx, a.ID, doc, s.now().UnixMilli()); err != nil {
		return nil, err
	}
	a.Settings = set
	return a, nil
}
