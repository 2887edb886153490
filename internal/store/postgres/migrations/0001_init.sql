CREATE TABLE apps (
	id                 BIGSERIAL PRIMARY KEY,
	uuid               TEXT NOT NULL UNIQUE,
	org                TEXT NOT NULL,
	name               TEXT NOT NULL,
	client_id          TEXT NOT NULL UNIQUE,
	client_secret_hash BYTEA NOT NULL,
	token_key          BYTEA NOT NULL,
	settings           TEXT NOT NULL DEFAULT '{}',
	created            BIGINT NOT NULL,
	modified           BIGINT NOT NULL,
	UNIQUE (org, name)
);

CREATE TABLE users (
	id                         BIGSERIAL PRIMARY KEY,
	app_id                     BIGINT NOT NULL REFERENCES apps(id),
	uuid                       TEXT NOT NULL UNIQUE,
	username                   TEXT NOT NULL,
	nickname                   TEXT NOT NULL DEFAULT '',
	password_hash              TEXT NOT NULL,
	activated                  BOOLEAN NOT NULL DEFAULT TRUE,
	token_epoch                BIGINT NOT NULL DEFAULT 0,
	notification_display_style BIGINT NOT NULL DEFAULT -1,
	no_disturbing              BOOLEAN NOT NULL DEFAULT FALSE,
	no_disturbing_start        BIGINT NOT NULL DEFAULT -1,
	no_disturbing_end          BIGINT NOT NULL DEFAULT -1,
	created                    BIGINT NOT NULL,
	modified                   BIGINT NOT NULL,
	UNIQUE (app_id, username)
);

CREATE TABLE admins (
	id            BIGSERIAL PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL,
	created       BIGINT NOT NULL,
	modified      BIGINT NOT NULL
);

CREATE TABLE admin_tokens (
	hash     BYTEA PRIMARY KEY,
	admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	expires  BIGINT NOT NULL,
	created  BIGINT NOT NULL
);
CREATE INDEX admin_tokens_admin ON admin_tokens(admin_id);
