-- Message edits: how many times a message was edited (its body is the
-- latest; the edits are items of kind 'edit' in the conversation).
ALTER TABLE items ADD COLUMN edits INTEGER NOT NULL DEFAULT 0;
