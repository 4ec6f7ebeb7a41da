-- 0006_plays_status_commands (PostgreSQL): proof of play, display status and
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
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_id        TEXT COLLATE "C" NOT NULL,
    media_id          TEXT COLLATE "C" NOT NULL,
    media_sha256      TEXT             NOT NULL,
    media_name        TEXT             NOT NULL,
    playlist_id       TEXT COLLATE "C" NOT NULL,
    playlist_revision BIGINT           NOT NULL,
    schedule_id       TEXT COLLATE "C",
    reason            TEXT             NOT NULL,
    started_at        BIGINT           NOT NULL,
    ended_at          BIGINT           NOT NULL,
    planned_ms        BIGINT           NOT NULL,
    played_ms         BIGINT           NOT NULL,
    completed         BOOLEAN          NOT NULL,
    received_at       BIGINT           NOT NULL
);

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
    display_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES displays (id) ON DELETE CASCADE,
    online            BOOLEAN          NOT NULL,
    last_seen         BIGINT,
    state_revision    BIGINT           NOT NULL DEFAULT 0,
    current_json      TEXT,
    version           TEXT             NOT NULL DEFAULT '',
    cache_bytes       BIGINT           NOT NULL DEFAULT 0,
    free_disk_bytes   BIGINT           NOT NULL DEFAULT 0,
    uptime_s          BIGINT           NOT NULL DEFAULT 0,
    clock_offset_ms   BIGINT,
    updated_at        BIGINT           NOT NULL
);

-- status_events records every online/offline transition of a display (and
-- the first status ever heard), for uptime reports. Like plays it outlives
-- the display: no foreign key.
CREATE TABLE status_events (
    display_id        TEXT COLLATE "C" NOT NULL,
    at                BIGINT           NOT NULL,
    online            BOOLEAN          NOT NULL
);

CREATE INDEX status_events_display_at_idx ON status_events (display_id, at);
CREATE INDEX status_events_at_idx ON status_events (at);

-- commands sent to displays, newest first by ID. status moves pending →
-- sent (published to the broker) → ok | failed (the display's answer), or
-- pending → failed when the broker could not be reached. Deleting a
-- display drops its commands.
CREATE TABLE commands (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_id        TEXT COLLATE "C" NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    type              TEXT             NOT NULL,
    args_json         TEXT             NOT NULL,
    issued_by         TEXT             NOT NULL,
    issued_at         BIGINT           NOT NULL,
    status            TEXT             NOT NULL CHECK (status IN ('pending', 'sent', 'ok', 'failed')),
    error             TEXT             NOT NULL DEFAULT '',
    finished_at       BIGINT
);

CREATE INDEX commands_display_id_idx ON commands (display_id, id);
