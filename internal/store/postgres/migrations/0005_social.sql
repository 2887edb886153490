-- Friends: one row per direction (owner sees friend), so each side has its
-- own remark and listing a user's friends reads one range.
CREATE TABLE contacts (
	owner   BIGINT NOT NULL,
	friend  BIGINT NOT NULL,
	app_id  BIGINT NOT NULL,
	remark  TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL,
	PRIMARY KEY (owner, friend)
);

-- Pending friend requests, keyed by requester and target.
CREATE TABLE contact_requests (
	from_user BIGINT NOT NULL,
	to_user   BIGINT NOT NULL,
	app_id    BIGINT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL,
	PRIMARY KEY (from_user, to_user)
);
CREATE INDEX contact_requests_to ON contact_requests (to_user);

-- Block lists: owner does not accept messages or requests from blocked.
CREATE TABLE blocks (
	owner   BIGINT NOT NULL,
	blocked BIGINT NOT NULL,
	app_id  BIGINT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (owner, blocked)
);

-- User attributes (a JSON object of strings), its size, and the custom
-- presence status a user publishes.
CREATE TABLE user_profiles (
	user_id         BIGINT PRIMARY KEY,
	app_id          BIGINT NOT NULL,
	attrs           TEXT NOT NULL DEFAULT '{}',
	attrs_bytes     BIGINT NOT NULL DEFAULT 0,
	status          TEXT NOT NULL DEFAULT '',
	status_updated  BIGINT NOT NULL DEFAULT 0,
	updated         BIGINT NOT NULL
);
CREATE INDEX user_profiles_app ON user_profiles (app_id);

-- Presence subscriptions, until expires (unix ms).
CREATE TABLE presence_subs (
	subscriber BIGINT NOT NULL,
	target     BIGINT NOT NULL,
	app_id     BIGINT NOT NULL,
	expires    BIGINT NOT NULL,
	PRIMARY KEY (subscriber, target)
);
CREATE INDEX presence_subs_target ON presence_subs (target, expires);

-- Global mutes per chat type: unix ms until which the user may not send
-- (0: not muted).
CREATE TABLE mutes (
	user_id          BIGINT PRIMARY KEY,
	app_id           BIGINT NOT NULL,
	chat_until       BIGINT NOT NULL DEFAULT 0,
	groupchat_until  BIGINT NOT NULL DEFAULT 0,
	chatroom_until   BIGINT NOT NULL DEFAULT 0,
	updated          BIGINT NOT NULL
);
CREATE INDEX mutes_app ON mutes (app_id, user_id);

-- Per-user events (friend requests and answers, contact and block changes,
-- attribute changes), so devices that were offline get them on sync. IDs
-- are time-ordered stamps, the events cursor.
CREATE TABLE user_events (
	id      BIGINT PRIMARY KEY,
	app_id  BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	payload TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE INDEX user_events_user ON user_events (user_id, id);
