CREATE TABLE conversations (
	id           BIGSERIAL PRIMARY KEY,
	app_id       BIGINT NOT NULL REFERENCES apps(id),
	kind         TEXT NOT NULL,
	user_a       BIGINT NOT NULL,
	user_b       BIGINT NOT NULL,
	last_seq     BIGINT NOT NULL DEFAULT 0,
	last_item_id BIGINT NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL,
	updated      BIGINT NOT NULL,
	UNIQUE (app_id, kind, user_a, user_b)
);

CREATE TABLE conversation_members (
	conv_id       BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	user_id       BIGINT NOT NULL,
	app_id        BIGINT NOT NULL,
	read_seq      BIGINT NOT NULL DEFAULT 0,
	delivered_seq BIGINT NOT NULL DEFAULT 0,
	cleared_seq   BIGINT NOT NULL DEFAULT 0,
	pinned        BOOLEAN NOT NULL DEFAULT FALSE,
	version       BIGINT NOT NULL,
	updated       BIGINT NOT NULL,
	PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX conversation_members_user_version ON conversation_members (user_id, version);

CREATE TABLE items (
	id            BIGINT PRIMARY KEY,
	app_id        BIGINT NOT NULL,
	conv_id       BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq           BIGINT NOT NULL,
	kind          TEXT NOT NULL,
	from_user     BIGINT NOT NULL,
	to_user       BIGINT NOT NULL,
	type          TEXT NOT NULL DEFAULT '',
	body          TEXT NOT NULL DEFAULT '',
	ext           TEXT NOT NULL DEFAULT '',
	client_msg_id TEXT NOT NULL DEFAULT '',
	target        BIGINT NOT NULL DEFAULT 0,
	recalled      BOOLEAN NOT NULL DEFAULT FALSE,
	created       BIGINT NOT NULL,
	UNIQUE (conv_id, seq)
);
CREATE UNIQUE INDEX items_client_msg_id ON items (app_id, from_user, client_msg_id) WHERE client_msg_id <> '';
