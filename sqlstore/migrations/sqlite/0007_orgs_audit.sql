-- 0007_orgs_audit: organisation tree paths and the append-only audit log (issue 5).
--
-- organisations.path is the materialised path of an organisation: the IDs
-- from the root down to it, each followed by '/', e.g.
-- '/org_root/org_x/org_y/'. An organisation's subtree is every row whose
-- path starts with its own, which the store asks as a range
-- (path >= p AND path < p without its last '/' || '0'; '0' follows '/' in
-- byte order) so that the unique index serves it. Organisations are
-- renamed but never moved, so a path is written once, when its row is
-- inserted; this migration fills in the rows that exist (the root, and any
-- others) walking down from the root.

ALTER TABLE organisations ADD COLUMN path TEXT NOT NULL DEFAULT '';

WITH RECURSIVE tree (id, path) AS (
    SELECT id, '/' || id || '/' FROM organisations WHERE parent_id IS NULL
    UNION ALL
    SELECT o.id, tree.path || o.id || '/' FROM organisations o JOIN tree ON o.parent_id = tree.id
)
UPDATE organisations SET path = (SELECT tree.path FROM tree WHERE tree.id = organisations.id);

CREATE UNIQUE INDEX organisations_path_idx ON organisations (path);

-- audit log: below
--
-- One row per change made through the admin API (admin/audit.go), read by
-- GET /api/v1/audit newest first within the reader's organisation subtree.
-- No foreign keys: a row outlives the user (username is copied in), the
-- organisation and the object it names. user_id and object_id are NULL
-- when there is none (a failed login; a change naming no object). summary
-- is a JSON object, at most 16 KiB (checked in Go).
--
-- Append-only: the triggers below refuse every UPDATE and DELETE, so not
-- even a bug in the store can rewrite history.
CREATE TABLE audit_log (
    id          TEXT    NOT NULL PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     TEXT,
    username    TEXT    NOT NULL,
    org_id      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT,
    summary     TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    remote_ip   TEXT    NOT NULL
) STRICT;

-- One index per filter, each ending in the page order (at, id).
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at, id);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, at, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
