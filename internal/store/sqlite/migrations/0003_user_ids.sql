-- User IDs are never reused: without AUTOINCREMENT, SQLite gives a new row
-- the ID of the newest deleted one, and a re-registered username would
-- inherit a deleted user's conversations.
CREATE TABLE users_new (
	id                         INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO users_new SELECT * FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
