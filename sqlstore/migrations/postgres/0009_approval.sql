-- 0009_approval (PostgreSQL): the schedule approval workflow (issue 5).
--
-- A schedules row is the schedule's working copy, which staff edit; its
-- approval_* columns say where that copy stands: draft → pending
-- (submitted, naming the playlist revision it was submitted with) →
-- approved or rejected (with a reason). What plays is not the working copy
-- but the schedule's approved version: one approved_schedules row, written
-- when the schedule is approved, holding the working copy's fields as they
-- were then and the playlist revision they named (pinned), with its own
-- targets (approved_schedule_displays, approved_schedule_tags). The
-- desired-state queries reach displays through these tables only, so a
-- schedule never approved reaches nothing and an edited one keeps playing
-- its approved version until the edit is approved in turn.
--
-- approved_schedule_media mirrors the media of each pinned revision, as
-- playlist_media does for current revisions: its RESTRICT foreign key keeps
-- media that an approved version plays from being deleted. The RESTRICT
-- foreign key to playlist_revisions keeps a pinned playlist from being
-- deleted (its revisions would cascade).
--
-- Schedules that exist when this migration runs were playing: they are
-- approved as they are, by "system", pinning their playlist's current
-- revision, so that upgrading changes nothing on screens.

ALTER TABLE schedules ADD COLUMN approval_status TEXT NOT NULL DEFAULT 'draft'
    CHECK (approval_status IN ('draft', 'pending', 'approved', 'rejected'));
ALTER TABLE schedules ADD COLUMN approval_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN submitted_at BIGINT;
ALTER TABLE schedules ADD COLUMN submitted_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN decided_at BIGINT;

-- GET /api/v1/schedules?approval=pending
CREATE INDEX schedules_approval_status_idx ON schedules (approval_status, id);

CREATE TABLE approved_schedules (
    schedule_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES schedules (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    playlist_id       TEXT COLLATE "C" NOT NULL,
    playlist_revision BIGINT  NOT NULL,
    cron              TEXT    NOT NULL,
    duration_ms       BIGINT  NOT NULL,
    starts_on         TEXT COLLATE "C",
    ends_on           TEXT COLLATE "C",
    priority          TEXT    NOT NULL,
    timezone          TEXT    NOT NULL,
    approved_by       TEXT    NOT NULL,
    approved_at       BIGINT  NOT NULL,
    FOREIGN KEY (playlist_id, playlist_revision)
        REFERENCES playlist_revisions (playlist_id, revision) ON DELETE RESTRICT
);

-- The RESTRICT check on every playlist delete, and the playlist_id filter.
CREATE INDEX approved_schedules_playlist_idx ON approved_schedules (playlist_id, playlist_revision);

CREATE TABLE approved_schedule_displays (
    schedule_id TEXT COLLATE "C" NOT NULL REFERENCES approved_schedules (schedule_id) ON DELETE CASCADE,
    display_id  TEXT COLLATE "C" NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    PRIMARY KEY (schedule_id, display_id)
);

CREATE INDEX approved_schedule_displays_display_id_idx ON approved_schedule_displays (display_id, schedule_id);

CREATE TABLE approved_schedule_tags (
    schedule_id TEXT COLLATE "C" NOT NULL REFERENCES approved_schedules (schedule_id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (schedule_id, tag)
);

CREATE INDEX approved_schedule_tags_tag_idx ON approved_schedule_tags (tag, schedule_id);

CREATE TABLE approved_schedule_media (
    schedule_id TEXT COLLATE "C" NOT NULL REFERENCES approved_schedules (schedule_id) ON DELETE CASCADE,
    media_id    TEXT COLLATE "C" NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    PRIMARY KEY (schedule_id, media_id)
);

CREATE INDEX approved_schedule_media_media_id_idx ON approved_schedule_media (media_id, schedule_id);

-- What plays today keeps playing.
UPDATE schedules SET approval_status = 'approved', decided_by = 'system', decided_at = updated_at;

INSERT INTO approved_schedules (schedule_id, name, playlist_id, playlist_revision, cron, duration_ms,
    starts_on, ends_on, priority, timezone, approved_by, approved_at)
SELECT s.id, s.name, s.playlist_id, p.current_revision, s.cron, s.duration_ms,
    s.starts_on, s.ends_on, s.priority, s.timezone, 'system', s.updated_at
FROM schedules s JOIN playlists p ON p.id = s.playlist_id;

INSERT INTO approved_schedule_displays (schedule_id, display_id)
SELECT schedule_id, display_id FROM schedule_displays;

INSERT INTO approved_schedule_tags (schedule_id, tag)
SELECT schedule_id, tag FROM schedule_tags;

INSERT INTO approved_schedule_media (schedule_id, media_id)
SELECT s.id, pm.media_id FROM schedules s JOIN playlist_media pm ON pm.playlist_id = s.playlist_id;
