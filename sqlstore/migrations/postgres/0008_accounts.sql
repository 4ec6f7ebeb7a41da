-- 0008_accounts (PostgreSQL): cookie sessions, API tokens and login
-- throttling (issue 5). See the SQLite file for what each part is for.

ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'bearer';

-- Listing one user's sessions, newest first.
CREATE INDEX sessions_user_id_id_idx ON sessions (user_id, id);

CREATE TABLE api_tokens (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    role       TEXT   NOT NULL DEFAULT '',
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

-- user_id: listing, revoking all of a user's tokens, and the CASCADE
-- (PostgreSQL does not index referencing columns by itself).
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, id);
CREATE INDEX api_tokens_expires_at_idx ON api_tokens (expires_at);

CREATE TABLE login_throttles (
    account      TEXT   NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX login_throttles_updated_at_idx ON login_throttles (updated_at);
