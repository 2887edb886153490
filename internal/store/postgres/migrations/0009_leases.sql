-- Leases: a named right held by one process until it expires (node IDs in a
-- cluster, jobs that must run on one node at a time).
CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	owner   TEXT NOT NULL,
	expires BIGINT NOT NULL
);
