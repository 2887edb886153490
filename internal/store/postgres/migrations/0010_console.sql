-- The web console: app scopes of admins, browser sessions, the audit log.

-- The apps an app_admin or viewer account may use.
CREATE TABLE admin_apps (
	admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	app_id   BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	PRIMARY KEY (admin_id, app_id)
);

-- Console sign-ins: only the SHA-256 of the cookie's token is stored.
CREATE TABLE admin_sessions (
	hash     BYTEA PRIMARY KEY,
	admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	created  BIGINT NOT NULL,
	expires  BIGINT NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);

-- Every change made through the console, and every sign-in attempt.
CREATE TABLE audit_log (
	id     BIGSERIAL PRIMARY KEY,
	ts     BIGINT NOT NULL,
	actor  TEXT NOT NULL,
	ip     TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL,
	app    TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ts ON audit_log(ts);
