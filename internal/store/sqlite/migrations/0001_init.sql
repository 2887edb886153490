CREATE TABLE apps (
	id                 INTEGER PRIMARY KEY,
	uuid               TEXT NOT NULL UNIQUE,
	org                TEXT NOT NULL,
	name               TEXT NOT NULL,
	client_id          TEXT NOT NULL UNIQUE,
	client_secret_hash BLOB NOT NULL,
	token_key          BLOB NOT NULL,
	settings           TEXT NOT NULL DEFAULT '{}',
	created            INTEGER NOT NULL,
	modified           INTEGER NOT NULL,
	UNIQUE (org, name)
);

CREATE TABLE users (
	id                         INTEGER PRIMARY KEY,
	app_id                     INTEGER NOT NULL REFERENCES apps(id),
	uuid                       TEXT NOT NULL UNIQUE,
	username                   TEXT NOT NULL,
	nickname                   TEXT NOT NULL DEFAULT '',
	password_hash              TEXT NOT NULL,
	activated                  BOOLEAN NOT NULL DEFAULT TRUE,
	token_epoch                INTEGER NOT NULL DEFAULT 0,
	notification_display_style INTEGER NOT NULL DEFAULT -1,
	no_disturbing              BOOLEAN NOT NULL DEFAULT FALSE,
	no_disturbing_start        INTEGER NOT NULL DEFAULT -1,
	no_disturbing_end          INTEGER NOT NULL DEFAULT -1,
	created                    INTEGER NOT NULL,
	modified                   INTEGER NOT NULL,
	UNIQUE (app_id, username)
);

CREATE TABLE admins (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL,
	created       INTEGER NOT NULL,
	modified      INTEGER NOT NULL
);

CREATE TABLE admin_tokens (
	hash     BLOB PRIMARY KEY,
	admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	expires  INTEGER NOT NULL,
	created  INTEGER NOT NULL
);
CREATE INDEX admin_tokens_admin ON admin_tokens(admin_id);
