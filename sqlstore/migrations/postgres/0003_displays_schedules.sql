-- 0003_displays_schedules (PostgreSQL): displays, schedules and what
-- schedules target.
--
-- A display's token is stored only as its hex SHA-256 (token_hash), unique
-- so that a hash names one display. Its location columns are all optional:
-- address '' and latitude/longitude NULL mean unknown. A schedule's empty
-- cron means "all day"; its starts_on/ends_on are YYYY-MM-DD text, NULL for
-- an open side (text dates compare in date order; COLLATE "C" keeps that
-- independent of the locale). Playlists that a display falls back to or a
-- schedule plays cannot be deleted (RESTRICT); deleting a display or
-- schedule drops its tags and target rows (CASCADE). PostgreSQL does not
-- index referencing columns by itself: the indexes below serve those checks.

CREATE TABLE displays (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id               TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    name                 TEXT    NOT NULL,
    name_fold            TEXT    NOT NULL,
    width                INTEGER NOT NULL,
    height               INTEGER NOT NULL,
    timezone             TEXT    NOT NULL,
    address              TEXT    NOT NULL DEFAULT '',
    latitude             DOUBLE PRECISION,
    longitude            DOUBLE PRECISION,
    fallback_playlist_id TEXT COLLATE "C" REFERENCES playlists (id) ON DELETE RESTRICT,
    token_hash           TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);

CREATE INDEX displays_org_id_idx ON displays (org_id, id);
CREATE INDEX displays_fallback_playlist_id_idx ON displays (fallback_playlist_id);

CREATE TABLE display_tags (
    display_id TEXT COLLATE "C" NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (display_id, tag)
);

CREATE INDEX display_tags_tag_idx ON display_tags (tag, display_id);

CREATE TABLE schedules (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    name        TEXT   NOT NULL,
    name_fold   TEXT   NOT NULL,
    playlist_id TEXT COLLATE "C" NOT NULL REFERENCES playlists (id) ON DELETE RESTRICT,
    cron        TEXT   NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    starts_on   TEXT COLLATE "C",
    ends_on     TEXT COLLATE "C",
    priority    TEXT   NOT NULL,
    timezone    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX schedules_org_id_idx ON schedules (org_id, id);
CREATE INDEX schedules_playlist_id_idx ON schedules (playlist_id, id);
CREATE INDEX schedules_priority_idx ON schedules (priority, id);

CREATE TABLE schedule_displays (
    schedule_id TEXT COLLATE "C" NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    display_id  TEXT COLLATE "C" NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    PRIMARY KEY (schedule_id, display_id)
);

CREATE INDEX schedule_displays_display_id_idx ON schedule_displays (display_id, schedule_id);

CREATE TABLE schedule_tags (
    schedule_id TEXT COLLATE "C" NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (schedule_id, tag)
);

CREATE INDEX schedule_tags_tag_idx ON schedule_tags (tag, schedule_id);
