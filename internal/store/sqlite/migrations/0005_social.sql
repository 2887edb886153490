-- Friends: one row per direction (owner sees friend), so each side has its
-- own remark and listing a user's friends reads one range.
CREATE TABLE contacts (
	owner   INTEGER NOT NULL,
	friend  INTEGER NOT NULL,
	app_id  INTEGER NOT NULL,
	remark  TEXT NOT NULL DEFAULT '',
	created INTEGER NOT NULL,
	PRIMARY KEY (owner, friend)
);

-- Pending friend requests, keyed by requester and target.
CREATE TABLE contact_requests (
	from_user INTEGER NOT NULL,
	to_user   INTEGER NOT NULL,
	app_id    INTEGER NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	created   INTEGER NOT NULL,
	PRIMARY KEY (from_user, to_user)
);
CREATE INDEX contact_requests_to ON contact_requests (to_user);

-- Block lists: owner does not accept messages or requests from blocked.
CREATE TABLE blocks (
	owner   INTEGER NOT NULL,
	blocked INTEGER NOT NULL,
	app_id  INTEGER NOT NULL,
	created INTEGER NOT NULL,
	PRIMARY KEY (owner, blocked)
);

-- User attributes (a JSON object of strings), its size, and the custom
-- presence status a user publishes.
CREATE TABLE user_profiles (
	user_id         INTEGER PRIMARY KEY,
	app_id          INTEGER NOT NULL,
	attrs           TEXT NOT NULL DEFAULT '{}',
	attrs_bytes     INTEGER NOT NULL DEFAULT 0,
	status          TEXT NOT NULL DEFAULT '',
	status_updated  INTEGER NOT NULL DEFAULT 0,
	updated         INTEGER NOT NULL
);
CREATE INDEX user_profiles_app ON user_profiles (app_id);

-- Presence subscriptions, until expires (unix ms).
CREATE TABLE presence_subs (
	subscriber INTEGER NOT NULL,
	target     INTEGER NOT NULL,
	app_id     INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	PRIMARY KEY (subscriber, target)
);
CREATE INDEX presence_subs_target ON presence_subs (target, expires);

-- Global mutes per chat type: unix ms until which the user may not send
-- (0: not muted).
CREATE TABLE mutes (
	user_id          INTEGER PRIMARY KEY,
	app_id           INTEGER NOT NULL,
	chat_until       INTEGER NOT NULL DEFAULT 0,
	groupchat_until  INTEGER NOT NULL DEFAULT 0,
	chatroom_until   INTEGER NOT NULL DEFAULT 0,
	updated          INTEGER NOT NULL
);
CREATE INDEX mutes_app ON mutes (app_id, user_id);

-- Per-user events (friend requests and answers, contact and block changes,
-- attribute changes), so devices that were offline get them on sync. IDs
-- are time-ordered stamps, the events cursor.
CREATE TABLE user_events (
	id      INTEGER PRIMARY KEY,
	app_id  INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	payload TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX user_events_user ON user_events (user_id, id);
