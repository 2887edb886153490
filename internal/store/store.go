// Package store defines the storage interfaces the domain depends on, and the
// records they hold. Backends (sqlite, postgres) implement them; the
// conformance suite in storetest runs against every backend.
//
// Conventions for every method:
//   - ctx comes first; cancellation aborts the call.
//   - A missing record is ErrNotFound; a unique-key clash is ErrConflict.
//   - Each method is atomic: it either applies whole or not at all.
//   - Times are Unix milliseconds (UTC).
package store

import (
	"context"
	"errors"
)

var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique key is already taken.
	ErrConflict = errors.New("store: conflict")
	// ErrLimit means a bound on the record was reached (e.g. edits of a
	// message).
	ErrLimit = errors.New("store: limit reached")
)

// Store is one storage backend.
type Store interface {
	Apps() AppStore
	Users() UserStore
	Admins() AdminStore
	Messages() MessageStore
	Conversations() ConversationStore
	Files() FileStore
	Social() SocialStore
	Groups() GroupStore
	Rooms() RoomStore
	Push() PushStore
	Callbacks() CallbackStore
	Leases() LeaseStore
	Moderation() ModerationStore
	Archive() ArchiveStore
	// Ping checks the backend is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Backend names the implementation ("sqlite", "postgres").
	Backend() string
	Close() error
}

// App is a tenant: an org_name/app_name pair with its credentials.
type App struct {
	ID       int64
	UUID     string
	Org      string
	Name     string
	ClientID string
	// ClientSecretHash is SHA-256 of the client secret (the secret itself is
	// high-entropy random, so a fast hash is enough and it is never stored).
	ClientSecretHash []byte
	// TokenKey signs this app's tokens; replacing it revokes every token.
	TokenKey []byte
	// Settings is the app's settings document (JSON), owned by package tenant.
	Settings []byte
	Created  int64
	Modified int64
}

// AppStore holds apps.
type AppStore interface {
	// Create inserts a, setting a.ID. ErrConflict if org/name or client_id exists.
	Create(ctx context.Context, a *App) error
	Get(ctx context.Context, id int64) (*App, error)
	GetByName(ctx context.Context, org, name string) (*App, error)
	GetByClientID(ctx context.Context, clientID string) (*App, error)
	// List returns every app ordered by ID.
	List(ctx context.Context) ([]App, error)
	// SetCredentials replaces the secret hash and token key.
	SetCredentials(ctx context.Context, id int64, secretHash, tokenKey []byte, modified int64) error
	// SetSettings replaces the settings document.
	SetSettings(ctx context.Context, id int64, settings []byte, modified int64) error
}

// User is an app's end user.
type User struct {
	ID       int64
	AppID    int64
	UUID     string
	Username string // always lower case
	Nickname string
	// PasswordHash is a PHC-format KDF hash.
	PasswordHash string
	Activated    bool
	// TokenEpoch is stamped into user tokens; bumping it revokes them.
	TokenEpoch int64
	// Push display fields (Easemob user entity). -1 in DisplayStyle and the
	// hours means "not set".
	NotificationDisplayStyle int
	NoDisturbing             bool
	NoDisturbingStart        int
	NoDisturbingEnd          int
	Created                  int64
	Modified                 int64
}

// UserPatch lists the profile fields to change; nil means unchanged.
type UserPatch struct {
	Nickname                 *string
	NotificationDisplayStyle *int
	NoDisturbing             *bool
	NoDisturbingStart        *int
	NoDisturbingEnd          *int
}

// UserStore holds users. Usernames are unique per app.
type UserStore interface {
	// Create inserts u, setting u.ID. ErrConflict if the username exists.
	Create(ctx context.Context, u *User) error
	// CreateBatch inserts users in one transaction. It returns one error per
	// user (nil, ErrConflict); users with a nil error were stored and have
	// their ID set. A failure of the batch itself is the second result.
	CreateBatch(ctx context.Context, users []*User) ([]error, error)
	Get(ctx context.Context, appID int64, username string) (*User, error)
	GetByID(ctx context.Context, appID, id int64) (*User, error)
	// Names maps those of ids that are users of the app to their usernames.
	Names(ctx context.Context, appID int64, ids []int64) (map[int64]string, error)
	// List returns up to limit users with ID > afterID, ordered by ID
	// (creation order).
	List(ctx context.Context, appID, afterID int64, limit int) ([]User, error)
	// Search returns up to limit users whose username starts with prefix
	// and sorts after after (exclusive; "" from the start), by username.
	Search(ctx context.Context, appID int64, prefix, after string, limit int) ([]User, error)
	Count(ctx context.Context, appID int64) (int64, error)
	// Update applies p and sets Modified; it returns the updated user.
	Update(ctx context.Context, appID int64, username string, p UserPatch, modified int64) (*User, error)
	SetPassword(ctx context.Context, appID int64, username, hash string, modified int64) error
	// SetActivated sets the activated flag; when revoke is true it also
	// increments TokenEpoch. It returns the updated user.
	SetActivated(ctx context.Context, appID int64, username string, activated, revoke bool, modified int64) (*User, error)
	// Delete removes one user and returns it.
	Delete(ctx context.Context, appID int64, username string) (*User, error)
	// DeleteOldest removes up to limit users with the lowest IDs and returns them.
	DeleteOldest(ctx context.Context, appID int64, limit int) ([]User, error)
	// Erase removes one user and what the database holds about them, in
	// one transaction: the account (so its tokens stop verifying);
	// profile, attributes, mutes, presence subscriptions, per-user events;
	// contacts, friend requests and block lists in both directions;
	// conversation read marks; push bindings, settings and queued pushes
	// to them; group and room list entries, requests, acks and room
	// attributes they own; the moderation records naming them. Messages
	// they sent stay in their streams as tombstones (recalled, body, ext
	// and client message ID cleared; edits they made lose their body), so
	// sequence numbers stay gap-free, and queued pushes and callbacks of
	// those messages are dropped. Files they uploaded are deleted (rows,
	// references, group shares) and returned for their bytes. Group and
	// room memberships are not touched: the caller ends them first through
	// their services (notices, counts, caches). ErrNotFound if there is no
	// such user.
	Erase(ctx context.Context, appID int64, username string) (*Erasure, error)
}

// Admin is a console account.
type Admin struct {
	ID           int64
	Username     string
	PasswordHash string
	Role         string
	// Apps are the IDs of the apps the account is scoped to (app_admin and
	// viewer roles), ascending.
	Apps     []int64
	Created  int64
	Modified int64
}

// AdminOwner is the role that may do everything; the store keeps at least
// one account with it (ErrLastOwner).
const AdminOwner = "owner"

// ErrLastOwner means a change would leave no account with the role
// AdminOwner.
var ErrLastOwner = errors.New("store: the last owner account cannot be removed or demoted")

// AdminSession is a console sign-in, known by the SHA-256 of its token.
type AdminSession struct {
	Hash    []byte
	AdminID int64
	Created int64
	Expires int64
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64
	TS     int64
	Actor  string
	IP     string
	Action string
	App    string // "org/app", or empty
	Target string
	Detail []byte // a JSON object
}

// AuditQuery filters the audit log. Empty strings and zero times do not
// filter; Since <= TS < Until. Before pages (entries with ID < Before).
type AuditQuery struct {
	Actor, Action, App string
	Since, Until       int64
	Before             int64
	Limit              int
}

// AdminStore holds console accounts, their sessions and tokens, and the
// audit log.
type AdminStore interface {
	// Create inserts a with its app scopes, setting a.ID. ErrConflict if the
	// username exists.
	Create(ctx context.Context, a *Admin) error
	Get(ctx context.Context, username string) (*Admin, error)
	// List returns every account, by username.
	List(ctx context.Context) ([]Admin, error)
	Count(ctx context.Context) (int64, error)
	// Update replaces the role, password hash, app scopes and Modified of
	// the account with a.ID. ErrNotFound if there is none; ErrLastOwner if
	// it would demote the last owner (checked and applied atomically, also
	// against concurrent updates and deletes).
	Update(ctx context.Context, a *Admin) error
	// Delete removes an account with its sessions and tokens. ErrNotFound;
	// ErrLastOwner if it is the last owner (atomically, as Update).
	Delete(ctx context.Context, id int64) error

	// CreateToken stores a management API token (by its hash) for an admin.
	CreateToken(ctx context.Context, hash []byte, adminID, expires, created int64) error
	// GetToken returns the admin owning an unexpired token (expires > now).
	GetToken(ctx context.Context, hash []byte, now int64) (*Admin, error)
	// DeleteTokens removes every token of an admin.
	DeleteTokens(ctx context.Context, adminID int64) error

	// CreateSession stores a console session.
	CreateSession(ctx context.Context, s *AdminSession) error
	// GetSession returns an unexpired session (expires > now) and its
	// account. ErrNotFound if unknown or expired.
	GetSession(ctx context.Context, hash []byte, now int64) (*AdminSession, *Admin, error)
	// ExtendSession sets a session's expiry. ErrNotFound if it is gone.
	ExtendSession(ctx context.Context, hash []byte, expires int64) error
	// DeleteSession ends one session (no error if it is gone).
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteSessions ends every session of an admin except the one whose
	// hash is keep (nil: all).
	DeleteSessions(ctx context.Context, adminID int64, keep []byte) error
	// DeleteExpiredSessions removes sessions with expires <= now.
	DeleteExpiredSessions(ctx context.Context, now int64) error

	// AddAudit appends an entry, setting e.ID (IDs ascend in insertion
	// order).
	AddAudit(ctx context.Context, e *AuditEntry) error
	// Audit returns up to q.Limit entries matching q, newest (highest ID)
	// first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// PruneAudit deletes entries with TS < before and returns how many.
	PruneAudit(ctx context.Context, before int64) (int64, error)
}
