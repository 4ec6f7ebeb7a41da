-- 0011_rollups (PostgreSQL): airtime rollups for reports (issue 6).
--
-- One row per hour (bucket_start: unix ms of the UTC hour a play started in)
-- and per display × media × schedule, kept current as plays are stored,
-- idempotently and rebuildable from the raw plays that retention has not yet
-- removed. schedule_id is '' for the fallback and idle. org_id is the
-- display's organisation when the play was counted, so rollups survive
-- deleting the display. Daily figures are sums of hourly rows over a day in
-- the report time zone; closed hours are marked in rollup_closed.

CREATE TABLE play_rollups_hourly (
    bucket_start BIGINT           NOT NULL,
    display_id   TEXT COLLATE "C" NOT NULL,
    media_id     TEXT COLLATE "C" NOT NULL,
    schedule_id  TEXT COLLATE "C" NOT NULL,
    org_id       TEXT COLLATE "C" NOT NULL,
    media_name   TEXT             NOT NULL,
    plays        BIGINT           NOT NULL,
    completed    BIGINT           NOT NULL,
    airtime_ms   BIGINT           NOT NULL,
    PRIMARY KEY (bucket_start, display_id, media_id, schedule_id)
);

-- Reports read an organisation's subtree over a period: this index covers
-- every column they read, so they never touch the table (SQLite: no rowid
-- look-ups; PostgreSQL: index-only scans once vacuum marks pages visible).
CREATE INDEX play_rollups_hourly_org_idx ON play_rollups_hourly (org_id, bucket_start)
    INCLUDE (display_id, media_id, schedule_id, plays, completed, airtime_ms, media_name);
CREATE INDEX play_rollups_hourly_schedule_idx ON play_rollups_hourly (schedule_id, bucket_start);
CREATE INDEX play_rollups_hourly_display_idx ON play_rollups_hourly (display_id, bucket_start);

CREATE TABLE rollup_closed (
    bucket_start BIGINT NOT NULL PRIMARY KEY,
    closed_at    BIGINT NOT NULL
);
