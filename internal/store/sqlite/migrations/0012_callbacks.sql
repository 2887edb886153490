-- Callback rules: an app's HTTPS endpoints (internal/callback). secret is
-- sealed with the secrets key; events is a comma-separated list.
CREATE TABLE callback_rules (
	app_id     INTEGER NOT NULL REFERENCES apps(id),
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	events     TEXT NOT NULL,
	timeout_ms INTEGER NOT NULL DEFAULT 2000,
	fail_open  BOOLEAN NOT NULL DEFAULT TRUE,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	PRIMARY KEY (app_id, name)
);

-- Callback deliveries. A row with rule '' is an event not yet fanned out
-- to the app's rules (written in the same transaction as the message,
-- recall or group notice it reports, item_id); the worker replaces it with
-- one row per rule that wants the event, atomically. A worker leases a row
-- by setting locked_until; deleting it marks it delivered; failed rows
-- (attempts exhausted) stay until retried or deleted with their rule.
CREATE TABLE callback_jobs (
	id           INTEGER NOT NULL,
	rule         TEXT NOT NULL,
	app_id       INTEGER NOT NULL,
	event        TEXT NOT NULL,
	item_id      INTEGER NOT NULL DEFAULT 0,
	payload      TEXT NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0,
	owner        INTEGER NOT NULL DEFAULT 0,
	failed       BOOLEAN NOT NULL DEFAULT FALSE,
	last_error   TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	PRIMARY KEY (id, rule)
);
CREATE INDEX callback_jobs_due ON callback_jobs (failed, next_at);
CREATE INDEX callback_jobs_app ON callback_jobs (app_id, failed, id);
