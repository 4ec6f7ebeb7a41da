-- 0001_init (PostgreSQL): organisations, users, sessions and the media library.
--
-- Times are BIGINT unix milliseconds UTC (see doc.go), as in SQLite.
-- Identifier columns use COLLATE "C": IDs sort by creation time as byte
-- strings, keyset pagination compares them with < and ORDER BY, and a
-- locale collation could order them differently.

CREATE TABLE organisations (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    parent_id  TEXT COLLATE "C" REFERENCES organisations (id),
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX organisations_parent_id_idx ON organisations (parent_id);

-- The root of the organisation tree (auth.RootOrgID).
INSERT INTO organisations (id, parent_id, name, created_at)
VALUES ('org_root', NULL, 'Province', (extract(epoch FROM now()) * 1000)::BIGINT);

CREATE TABLE users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL
);

CREATE INDEX users_org_id_idx ON users (org_id);

CREATE TABLE sessions (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- user_id: PostgreSQL does not index referencing columns by itself, and the
-- ON DELETE CASCADE from users would otherwise scan sessions.
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- name_fold is the lower-cased NFC form of name, computed in Go, searched
-- with LIKE. created_by is a user ID without a foreign key on purpose: an
-- item outlives its uploader's account.
CREATE TABLE media (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    name        TEXT    NOT NULL,
    name_fold   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    sha256      TEXT COLLATE "C" NOT NULL,
    size        BIGINT  NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    duration_ms BIGINT  NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE INDEX media_sha256_idx ON media (sha256);
CREATE INDEX media_org_id_idx ON media (org_id, id);

CREATE TABLE media_tags (
    media_id TEXT COLLATE "C" NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (media_id, tag)
);

CREATE INDEX media_tags_tag_idx ON media_tags (tag, media_id);
