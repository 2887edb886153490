-- Content moderation: per-app keyword lists, and reported or flagged
-- messages for admins to review. History export: messages by time.

-- Words are stored folded to lower case; matching is by substring.
CREATE TABLE moderation_words (
	app_id  BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	word    TEXT NOT NULL,
	action  TEXT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (app_id, word)
);

-- Reports (kind 'report') and review flags (kind 'flag'), with a copy of
-- the content as it was recorded.
CREATE TABLE moderation_records (
	id        BIGINT PRIMARY KEY,
	app_id    BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	msg_id    BIGINT NOT NULL DEFAULT 0,
	from_user TEXT NOT NULL DEFAULT '',
	to_target TEXT NOT NULL DEFAULT '',
	chat_type TEXT NOT NULL DEFAULT '',
	msg_type  TEXT NOT NULL DEFAULT '',
	content   TEXT NOT NULL DEFAULT '',
	words     TEXT NOT NULL DEFAULT '',
	reporter  TEXT NOT NULL DEFAULT '',
	reason    TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL
);
CREATE INDEX moderation_records_app ON moderation_records (app_id, kind, id);

-- History export reads an app's messages by creation time (imported
-- messages keep their original times, so message IDs do not order them).
CREATE INDEX items_app_created ON items (app_id, created, id) WHERE kind = 'msg';
