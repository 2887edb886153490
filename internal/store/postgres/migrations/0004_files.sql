-- Uploaded files (chat attachments). The bytes live in the blob store under
-- <app_id>/<uuid> (and <app_id>/<uuid>.thumb); this is their metadata.
CREATE TABLE files (
	id           BIGSERIAL PRIMARY KEY,
	app_id       BIGINT NOT NULL REFERENCES apps(id),
	uuid         TEXT NOT NULL UNIQUE,
	owner        BIGINT NOT NULL DEFAULT 0,
	name         TEXT NOT NULL DEFAULT '',
	content_type TEXT NOT NULL,
	size         BIGINT NOT NULL,
	restricted   BOOLEAN NOT NULL DEFAULT FALSE,
	secret       TEXT NOT NULL DEFAULT '',
	thumb_size   BIGINT NOT NULL DEFAULT 0,
	width        BIGINT NOT NULL DEFAULT 0,
	height       BIGINT NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL
);
CREATE INDEX files_created ON files (created);

-- Which messages reference which files. A file no message references is
-- deleted: at once when its last message is recalled, after
-- files.orphan_after when it was never sent.
CREATE TABLE file_refs (
	file_id BIGINT NOT NULL REFERENCES files(id),
	item_id BIGINT NOT NULL,
	PRIMARY KEY (file_id, item_id)
);
CREATE INDEX file_refs_item ON file_refs (item_id);
