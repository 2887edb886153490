CREATE TABLE conversations (
	id           INTEGER PRIMARY KEY,
	app_id       INTEGER NOT NULL REFERENCES apps(id),
	kind         TEXT NOT NULL,
	user_a       INTEGER NOT NULL,
	user_b       INTEGER NOT NULL,
	last_seq     INTEGER NOT NULL DEFAULT 0,
	last_item_id INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	UNIQUE (app_id, kind, user_a, user_b)
);

CREATE TABLE conversation_members (
	conv_id       INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	user_id       INTEGER NOT NULL,
	app_id        INTEGER NOT NULL,
	read_seq      INTEGER NOT NULL DEFAULT 0,
	delivered_seq INTEGER NOT NULL DEFAULT 0,
	cleared_seq   INTEGER NOT NULL DEFAULT 0,
	pinned        BOOLEAN NOT NULL DEFAULT FALSE,
	version       INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX conversation_members_user_version ON conversation_members (user_id, version);

CREATE TABLE items (
	id            INTEGER PRIMARY KEY,
	app_id        INTEGER NOT NULL,
	conv_id       INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	from_user     INTEGER NOT NULL,
	to_user       INTEGER NOT NULL,
	type          TEXT NOT NULL DEFAULT '',
	body          TEXT NOT NULL DEFAULT '',
	ext           TEXT NOT NULL DEFAULT '',
	client_msg_id TEXT NOT NULL DEFAULT '',
	target        INTEGER NOT NULL DEFAULT 0,
	recalled      BOOLEAN NOT NULL DEFAULT FALSE,
	created       INTEGER NOT NULL,
	UNIQUE (conv_id, seq)
);
CREATE UNIQUE INDEX items_client_msg_id ON items (app_id, from_user, client_msg_id) WHERE client_msg_id <> '';
