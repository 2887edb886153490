package store

import "context"

// CallbackRule is an app's callback endpoint (internal/callback).
type CallbackRule struct {
	AppID  int64
	Name   string
	URL    string
	Secret string // sealed
	// Events are the event types the rule wants ("pre_send", "chat", ...).
	Events    []string
	TimeoutMS int64 // pre_send only
	FailOpen  bool  // pre_send only: allow the message when the endpoint fails
	Created   int64
	Updated   int64
}

// CallbackJob is one event to deliver to one rule, or (Rule "") an event
// not yet fanned out to the app's rules: the job a message, recall or group
// notice stores in its own transaction (ItemID names the item).
type CallbackJob struct {
	ID        int64 // the event's ID (what receivers dedupe on)
	Rule      string
	AppID     int64
	Event     string
	ItemID    int64
	Payload   []byte
	Attempts  int
	NextAt    int64
	Failed    bool
	LastError string
	Created   int64
}

// CallbackStore holds callback rules and their delivery queue. Jobs are
// keyed by (ID, Rule).
type CallbackStore interface {
	// PutRule inserts or replaces the rule (app, name); Created is kept on
	// replace.
	PutRule(ctx context.Context, r *CallbackRule) error
	// Rules lists an app's rules by name.
	Rules(ctx context.Context, appID int64) ([]CallbackRule, error)
	// DeleteRule deletes a rule and its pending and failed jobs
	// (ErrNotFound if there is none).
	DeleteRule(ctx context.Context, appID int64, name string) error

	// AddJobs stores jobs outside any other transaction; a job whose
	// (ID, Rule) exists is left as it is.
	AddJobs(ctx context.Context, jobs []CallbackJob) error
	// Expand replaces the unexpanded job (id, "") with jobs, in one
	// transaction. ErrNotFound (and nothing added) if the job is gone:
	// another worker expanded it.
	Expand(ctx context.Context, id int64, jobs []CallbackJob) error
	// Claim leases up to limit due jobs (not failed, next_at <= now, not
	// leased) to owner until leaseUntil and returns them with Attempts
	// incremented. A job is leased by one caller at a time, across nodes.
	Claim(ctx context.Context, owner, now, leaseUntil int64, limit int) ([]CallbackJob, error)
	// Release frees every lease owner holds.
	Release(ctx context.Context, owner int64) error
	// Done deletes a delivered job.
	Done(ctx context.Context, id int64, rule string) error
	// Retry releases a job to run again at nextAt, recording the error.
	Retry(ctx context.Context, id int64, rule string, nextAt int64, lastErr string) error
	// Fail marks a job failed (kept, not claimed again until requeued).
	Fail(ctx context.Context, id int64, rule string, lastErr string) error
	// Failed lists an app's failed jobs after (afterID, afterRule), by ID
	// then rule.
	Failed(ctx context.Context, appID, afterID int64, afterRule string, limit int) ([]CallbackJob, error)
	// Requeue makes an app's failed jobs due at now with no attempts: those
	// of event id, or all of them when id is 0. It returns how many.
	Requeue(ctx context.Context, appID, id, now int64) (int64, error)
}
