-- 0006_plays_status_commands (SQLite): proof of play, display status and
-- commands.
--
-- plays holds one immutable row per play, keyed by the UUID the player gave
-- it, so a play re-sent after a lost acknowledgement is stored once (INSERT
-- … ON CONFLICT (id) DO NOTHING). It has no foreign keys on purpose: the
-- history of what played must survive deleting the media, the display, the
-- playlist or the schedule, which is also why a play repeats the media's
-- name and hash. schedule_id is NULL for the fallback and idle. Times are
-- unix milliseconds (UTC); received_at is when the server stored the play.
-- Each index serves one filter of the playback log, newest first.

CREATE TABLE plays (
    id                TEXT    NOT NULL PRIMARY KEY,
    display_id        TEXT    NOT NULL,
    media_id          TEXT    NOT NULL,
    media_sha256      TEXT    NOT NULL,
    media_name        TEXT    NOT NULL,
    playlist_id       TEXT    NOT NULL,
    playlist_revision INTEGER NOT NULL,
    schedule_id       TEXT,
    reason            TEXT    NOT NULL,
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER NOT NULL,
    planned_ms        INTEGER NOT NULL,
    played_ms         INTEGER NOT NULL,
    completed         INTEGER NOT NULL CHECK (completed IN (0, 1)),
    received_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX plays_display_started_idx ON plays (display_id, started_at, id);
CREATE INDEX plays_started_idx ON plays (started_at, id);
CREATE INDEX plays_media_started_idx ON plays (media_id, started_at);
CREATE INDEX plays_schedule_started_idx ON plays (schedule_id, started_at);

-- display_status is the latest heartbeat of each display: whether it is
-- online, when the server last heard it say so (last_seen, NULL before
-- the first online heartbeat), the state revision it applied, what it is
-- showing (current_json: NowPlaying as JSON, NULL when unknown or offline)
-- and its health figures. Deleting a display drops its status.
CREATE TABLE display_status (
    display_id      TEXT    NOT NULL PRIMARY KEY REFERENCES displays (id) ON DELETE CASCADE,
    online          INTEGER NOT NULL CHECK (online IN (0, 1)),
    last_seen       INTEGER,
    state_revision  INTEGER NOT NULL DEFAULT 0,
    current_json    TEXT,
    version         TEXT    NOT NULL DEFAULT '',
    cache_bytes     INTEGER NOT NULL DEFAULT 0,
    free_disk_bytes INTEGER NOT NULL DEFAULT 0,
    uptime_s        INTEGER NOT NULL DEFAULT 0,
    clock_offset_ms INTEGER,
    updated_at      INTEGER NOT NULL
) STRICT;

-- status_events records every online/offline transition of a display (and
-- the first status ever heard), for uptime reports. Like plays it outlives
-- the display: no foreign key.
CREATE TABLE status_events (
    display_id TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    online     INTEGER NOT NULL CHECK (online IN (0, 1))
) STRICT;

CREATE INDEX status_events_display_at_idx ON status_events (display_id, at);
CREATE INDEX status_events_at_idx ON status_events (at);

-- commands sent to displays, newest first by ID. status moves pending →
-- sent (published to the broker) → ok | failed (the display's answer), or
-- pending → failed when the broker could not be reached. Deleting a
-- display drops its commands.
CREATE TABLE commands (
    id          TEXT    NOT NULL PRIMARY KEY,
    display_id  TEXT    NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    type        TEXT    NOT NULL,
    args_json   TEXT    NOT NULL,
    issued_by   TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'ok', 'failed')),
    error       TEXT    NOT NULL DEFAULT '',
    finished_at INTEGER
) STRICT;

CREATE INDEX commands_display_id_idx ON commands (display_id, id);
