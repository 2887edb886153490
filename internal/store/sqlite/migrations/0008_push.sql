-- Push credentials per app (encrypted with the secrets key).
CREATE TABLE push_notifiers (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	app_id      INTEGER NOT NULL REFERENCES apps(id),
	name        TEXT NOT NULL,
	provider    TEXT NOT NULL,
	credentials TEXT NOT NULL,
	summary     TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	UNIQUE (app_id, name)
);

-- A device's push token, per user and device.
CREATE TABLE push_bindings (
	user_id   INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	app_id    INTEGER NOT NULL,
	notifier  TEXT NOT NULL,
	token     TEXT NOT NULL,
	updated   INTEGER NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

-- Notification preferences: scope 'app' (the user's default), 'chat:<peer
-- id>' or 'group:<group id>'; mode DEFAULT, ALL, AT or NONE; quiet hours
-- "H:M-H:M" (UTC) and a mute until a time.
CREATE TABLE push_settings (
	user_id         INTEGER NOT NULL,
	scope           TEXT NOT NULL,
	app_id          INTEGER NOT NULL,
	mode            TEXT NOT NULL DEFAULT 'DEFAULT',
	ignore_interval TEXT NOT NULL DEFAULT '',
	ignore_until    INTEGER NOT NULL DEFAULT 0,
	updated         INTEGER NOT NULL,
	PRIMARY KEY (user_id, scope)
);

-- A user's push language and template.
CREATE TABLE push_prefs (
	user_id  INTEGER PRIMARY KEY,
	app_id   INTEGER NOT NULL,
	language TEXT NOT NULL DEFAULT '',
	template TEXT NOT NULL DEFAULT '',
	updated  INTEGER NOT NULL
);

CREATE TABLE push_templates (
	app_id          INTEGER NOT NULL,
	name            TEXT NOT NULL,
	title_pattern   TEXT NOT NULL,
	content_pattern TEXT NOT NULL,
	created         INTEGER NOT NULL,
	updated         INTEGER NOT NULL,
	PRIMARY KEY (app_id, name)
);

-- Push jobs, written in the same transaction as the message they push
-- (so an acknowledged message is never left without its push). A job for
-- a message (item_id, kind 'chat' or 'group') or, for a retry, for one
-- device (payload holds the notification). A worker leases a job by
-- setting locked_until; deleting it marks it done.
CREATE TABLE push_jobs (
	id           INTEGER PRIMARY KEY,
	app_id       INTEGER NOT NULL,
	item_id      INTEGER NOT NULL DEFAULT 0,
	kind         TEXT NOT NULL,
	user_id      INTEGER NOT NULL DEFAULT 0,
	device_id    TEXT NOT NULL DEFAULT '',
	payload      TEXT NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0,
	owner        INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL
);
CREATE INDEX push_jobs_due ON push_jobs (next_at);
