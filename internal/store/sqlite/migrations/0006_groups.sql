-- Groups. A group's messages and notices are one conversation stream
-- (conversations.kind = 'group', user_a = the group ID); each member has a
-- conversation_members row there (read marks, unread), so storage per
-- message does not grow with the group.
CREATE TABLE chat_groups (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	app_id              INTEGER NOT NULL REFERENCES apps(id),
	conv_id             INTEGER NOT NULL,
	name                TEXT NOT NULL DEFAULT '',
	description         TEXT NOT NULL DEFAULT '',
	avatar              TEXT NOT NULL DEFAULT '',
	public              BOOLEAN NOT NULL DEFAULT FALSE,
	max_users           INTEGER NOT NULL,
	allow_invites       BOOLEAN NOT NULL DEFAULT FALSE,
	members_only        BOOLEAN NOT NULL DEFAULT FALSE,
	invite_need_confirm BOOLEAN NOT NULL DEFAULT TRUE,
	owner               INTEGER NOT NULL,
	custom              TEXT NOT NULL DEFAULT '',
	announcement        TEXT NOT NULL DEFAULT '',
	mute_all            BOOLEAN NOT NULL DEFAULT FALSE,
	disabled            BOOLEAN NOT NULL DEFAULT FALSE,
	members             INTEGER NOT NULL DEFAULT 0,
	created             INTEGER NOT NULL,
	updated             INTEGER NOT NULL
);
CREATE INDEX chat_groups_app ON chat_groups (app_id, id);

-- Members with their role (owner, admin, member), mute and attributes.
CREATE TABLE group_members (
	group_id   INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL,
	app_id     INTEGER NOT NULL,
	role       TEXT NOT NULL,
	mute_until INTEGER NOT NULL DEFAULT 0,
	shield     BOOLEAN NOT NULL DEFAULT FALSE,
	attrs      TEXT NOT NULL DEFAULT '{}',
	joined     INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- Per-group user lists: 'block' (may not join) and 'allow' (may speak
-- during mute-all).
CREATE TABLE group_lists (
	group_id INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	user_id  INTEGER NOT NULL,
	created  INTEGER NOT NULL,
	PRIMARY KEY (group_id, kind, user_id)
);

-- Pending join applications ('apply', by the user) and invitations
-- ('invite', by inviter) waiting for an answer.
CREATE TABLE group_requests (
	group_id INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	user_id  INTEGER NOT NULL,
	kind     TEXT NOT NULL,
	inviter  INTEGER NOT NULL DEFAULT 0,
	reason   TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id, kind)
);

-- Group read receipts for messages sent with need_group_ack: who read.
CREATE TABLE group_acks (
	item_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	created INTEGER NOT NULL,
	PRIMARY KEY (item_id, user_id)
);

-- Files shared in a group (their bytes and metadata are in files; a
-- shared file is not an orphan while it is listed here).
CREATE TABLE group_files (
	group_id INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	file_id  INTEGER NOT NULL REFERENCES files(id),
	owner    INTEGER NOT NULL,
	created  INTEGER NOT NULL,
	PRIMARY KEY (group_id, file_id)
);
CREATE INDEX group_files_file ON group_files (file_id);

-- Mentions: a member's last mention (em_at_list naming them) and a
-- stream's last @all, so conversation lists can flag "you were mentioned"
-- without a write per member for @all.
ALTER TABLE conversation_members ADD COLUMN mention_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN mention_all_seq INTEGER NOT NULL DEFAULT 0;
