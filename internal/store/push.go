package store

import "context"

// Notifier is an app's push credential set (Credentials encrypted).
type Notifier struct {
	AppID       int64
	Name        string
	Provider    string
	Credentials string // sealed
	Summary     string // what may be shown (project ID, key ID, topic ...)
	Created     int64
	Updated     int64
}

// Binding is a device's push token.
type Binding struct {
	UserID   int64
	DeviceID string
	AppID    int64
	Notifier string
	Token    string
	Updated  int64
}

// PushSetting is a notification preference for a scope: "app", "chat:<peer
// id>" or "group:<group id>".
type PushSetting struct {
	UserID         int64
	Scope          string
	AppID          int64
	Mode           string // DEFAULT, ALL, AT, NONE
	IgnoreInterval string // "H:M-H:M" (UTC)
	IgnoreUntil    int64  // Unix ms
	Updated        int64
}

// PushPrefs are a user's push language and template.
type PushPrefs struct {
	UserID   int64
	AppID    int64
	Language string
	Template string
	Updated  int64
}

// PushTemplate is an app's notification template.
type PushTemplate struct {
	AppID          int64
	Name           string
	TitlePattern   string
	ContentPattern string
	Created        int64
	Updated        int64
}

// PushJob is a push to make: for a message (ItemID, Kind "chat" or
// "group"), or a retry for one device (UserID, DeviceID, Payload).
type PushJob struct {
	ID       int64
	AppID    int64
	ItemID   int64
	Kind     string
	UserID   int64
	DeviceID string
	Payload  []byte
	Attempts int
	NextAt   int64
	Created  int64
}

// PushStore holds push credentials, bindings, preferences and jobs.
type PushStore interface {
	PutNotifier(ctx context.Context, n *Notifier) error
	Notifier(ctx context.Context, appID int64, name string) (*Notifier, error)
	Notifiers(ctx context.Context, appID int64) ([]Notifier, error)
	DeleteNotifier(ctx context.Context, appID int64, name string) error
	// AppsWithNotifiers lists the apps that have at least one notifier.
	AppsWithNotifiers(ctx context.Context) ([]int64, error)

	// PutBinding stores a binding; an empty Token deletes it.
	PutBinding(ctx context.Context, b *Binding) error
	Bindings(ctx context.Context, userID int64) ([]Binding, error)
	// DropBinding deletes a binding if it still holds token (a token the
	// service reported dead); it reports whether it did.
	DropBinding(ctx context.Context, userID int64, deviceID, token string) (bool, error)

	PutSetting(ctx context.Context, s *PushSetting) error
	// Settings returns a user's settings by scope.
	Settings(ctx context.Context, userID int64) (map[string]PushSetting, error)
	PutPrefs(ctx context.Context, p *PushPrefs) error
	Prefs(ctx context.Context, userID int64) (*PushPrefs, error)

	PutTemplate(ctx context.Context, t *PushTemplate) error
	Template(ctx context.Context, appID int64, name string) (*PushTemplate, error)
	DeleteTemplate(ctx context.Context, appID int64, name string) error

	// AddJob stores a job outside a message's transaction (retries).
	AddJob(ctx context.Context, j *PushJob) error
	// Claim leases up to limit due jobs (next_at <= now, not leased) to
	// owner (a node) until leaseUntil and returns them with Attempts
	// incremented. A job is leased by one caller at a time, across nodes.
	Claim(ctx context.Context, owner, now, leaseUntil int64, limit int) ([]PushJob, error)
	// Release frees every lease an owner holds (a node restarting after a
	// crash takes its jobs back at once).
	Release(ctx context.Context, owner int64) error
	// Done deletes a job.
	Done(ctx context.Context, id int64) error
	// Retry releases a job to run again at nextAt.
	Retry(ctx context.Context, id, nextAt int64) error
}
