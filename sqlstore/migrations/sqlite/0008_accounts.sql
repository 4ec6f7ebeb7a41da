-- 0008_accounts (SQLite): cookie sessions, API tokens and login throttling
-- (issue 5).
--
-- sessions.kind is 'bearer' (token in an Authorization header) or 'cookie'
-- (token in an HttpOnly cookie, requests that change something carry a
-- CSRF token derived from it); each kind is accepted only in its place.
--
-- api_tokens are long-lived bearer tokens for scripts, stored like
-- sessions as the hex SHA-256 of the token. role '' means the owner's
-- current role; expires_at NULL means never. They go with their user.
--
-- login_throttles holds the failed-login counters of each account (the
-- username as typed, normalised; unknown usernames are counted too, so a
-- lock reveals nothing). No foreign key, on purpose. A successful login
-- deletes the row; rows untouched for a day are pruned (updated_at).

ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'bearer';

-- Listing one user's sessions, newest first.
CREATE INDEX sessions_user_id_id_idx ON sessions (user_id, id);

CREATE TABLE api_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL DEFAULT '',
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) STRICT;

-- user_id: listing, revoking all of a user's tokens, and the CASCADE.
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, id);
CREATE INDEX api_tokens_expires_at_idx ON api_tokens (expires_at);

CREATE TABLE login_throttles (
    account      TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX login_throttles_updated_at_idx ON login_throttles (updated_at);
