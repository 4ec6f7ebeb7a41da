-- 0007_orgs_audit: organisation tree paths and the append-only audit log (issue 5).
--
-- organisations.path is the materialised path of an organisation: the IDs
-- from the root down to it, each followed by '/', e.g.
-- '/org_root/org_x/org_y/'. An organisation's subtree is every row whose
-- path starts with its own, which the store asks as a range
-- (path >= p AND path < p without its last '/' || '0'; '0' follows '/' in
-- byte order) so that the unique index serves it: hence COLLATE "C", byte
-- order, as for IDs. Organisations are renamed but never moved, so a path is
-- written once, when its row is inserted; this migration fills in the rows
-- that exist (the root, and any others) walking down from the root.

ALTER TABLE organisations ADD COLUMN path TEXT COLLATE "C" NOT NULL DEFAULT '';

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
-- is a JSON object, at most 16 KiB (checked in Go), kept as the text Go
-- wrote (TEXT, not jsonb: nothing queries inside it).
--
-- Append-only: the trigger below refuses every UPDATE, DELETE and
-- TRUNCATE, so not even a bug in the store can rewrite history. (The
-- table's owner can still drop the trigger: see docs/api.md for
-- deployments that want the database role to be unable to.)
CREATE TABLE audit_log (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    at          BIGINT NOT NULL,
    user_id     TEXT COLLATE "C",
    username    TEXT   NOT NULL,
    org_id      TEXT COLLATE "C" NOT NULL,
    action      TEXT   NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,
    object_id   TEXT COLLATE "C",
    summary     TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    remote_ip   TEXT   NOT NULL
);

-- One index per filter, each ending in the page order (at, id).
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at, id);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, at, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Per statement, so an attempt fails even when it matches no row.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
