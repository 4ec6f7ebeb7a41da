-- 0001_init (SQLite): organisations, users, sessions and the media library.
--
-- Times are INTEGER unix milliseconds UTC (see doc.go). Tables are STRICT so a
-- wrongly typed value is an error instead of being stored as something else.
-- Enumerations (role, kind) carry no CHECK: SQLite can only change a CHECK by
-- rebuilding the table, which later foreign keys (playlist items → media) make
-- expensive; the services validate them.

CREATE TABLE organisations (
    id         TEXT    NOT NULL PRIMARY KEY,
    parent_id  TEXT    REFERENCES organisations (id),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX organisations_parent_id_idx ON organisations (parent_id);

-- The root of the organisation tree (auth.RootOrgID).
INSERT INTO organisations (id, parent_id, name, created_at)
VALUES ('org_root', NULL, 'Province', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organisations (id),
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX users_org_id_idx ON users (org_id);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- user_id: the ON DELETE CASCADE from users would otherwise scan sessions.
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- name_fold is the lower-cased NFC form of name, computed in Go, searched
-- with LIKE. created_by is a user ID without a foreign key on purpose: an
-- item outlives its uploader's account.
CREATE TABLE media (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL REFERENCES organisations (id),
    name        TEXT    NOT NULL,
    name_fold   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX media_sha256_idx ON media (sha256);
CREATE INDEX media_org_id_idx ON media (org_id, id);

CREATE TABLE media_tags (
    media_id TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (media_id, tag)
) STRICT, WITHOUT ROWID;

CREATE INDEX media_tags_tag_idx ON media_tags (tag, media_id);
