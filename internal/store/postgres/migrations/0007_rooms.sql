-- Chat rooms: large and transient. Members and settings are stored;
-- messages are not (a joiner gets the last few from memory).
CREATE TABLE chat_rooms (
	id           BIGSERIAL PRIMARY KEY,
	app_id       BIGINT NOT NULL REFERENCES apps(id),
	name         TEXT NOT NULL DEFAULT '',
	description  TEXT NOT NULL DEFAULT '',
	max_users    BIGINT NOT NULL,
	owner        BIGINT NOT NULL,
	custom       TEXT NOT NULL DEFAULT '',
	announcement TEXT NOT NULL DEFAULT '',
	mute_all     BOOLEAN NOT NULL DEFAULT FALSE,
	members      BIGINT NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL,
	updated      BIGINT NOT NULL
);
CREATE INDEX chat_rooms_app ON chat_rooms (app_id, id);

CREATE TABLE room_members (
	room_id    BIGINT NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
	user_id    BIGINT NOT NULL,
	app_id     BIGINT NOT NULL,
	role       TEXT NOT NULL,
	mute_until BIGINT NOT NULL DEFAULT 0,
	joined     BIGINT NOT NULL,
	PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (user_id, room_id);

CREATE TABLE room_lists (
	room_id BIGINT NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
	kind    TEXT NOT NULL,
	user_id BIGINT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (room_id, kind, user_id)
);

-- Room attributes: each key has the member who set it; auto_delete keys
-- go when that member leaves.
CREATE TABLE room_attrs (
	room_id     BIGINT NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
	k           TEXT NOT NULL,
	v           TEXT NOT NULL,
	owner       BIGINT NOT NULL,
	auto_delete BOOLEAN NOT NULL DEFAULT FALSE,
	updated     BIGINT NOT NULL,
	PRIMARY KEY (room_id, k)
);

-- Users who may create rooms from clients.
CREATE TABLE room_super_admins (
	app_id  BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (app_id, user_id)
);

-- App-wide broadcasts to all users (offline users get them with their
-- events, for 7 days).
CREATE TABLE broadcasts (
	id        BIGINT PRIMARY KEY,
	app_id    BIGINT NOT NULL,
	from_user BIGINT NOT NULL,
	type      TEXT NOT NULL,
	body      TEXT NOT NULL,
	ext       TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL
);
CREATE INDEX broadcasts_app ON broadcasts (app_id, id);
