-- 0013_daily_rollups (PostgreSQL): daily airtime rollups (issue 6).
--
-- One row per day × display × media × schedule, the sum of the hourly rows
-- of that day, kept current in the same transaction as the hourly ones (by
-- InsertPlays and RebuildRollups). Days are those of UTC+7
-- (Asia/Ho_Chi_Minh, the default report zone, which has no daylight saving
-- time): day_start is the unix ms of 00:00 UTC+7, i.e. 17:00 UTC the day
-- before. A report over a long period reads the daily rows for the whole
-- days inside it and the hourly rows only for the partial days at its
-- edges: a 30-day report reads 24 times fewer rows. Reports grouped by the
-- days of another zone read the hourly rows only. org_id is the display's
-- organisation at the last play counted in the day.

CREATE TABLE play_rollups_daily (
    day_start   BIGINT           NOT NULL,
    display_id  TEXT COLLATE "C" NOT NULL,
    media_id    TEXT COLLATE "C" NOT NULL,
    schedule_id TEXT COLLATE "C" NOT NULL,
    org_id      TEXT COLLATE "C" NOT NULL,
    media_name  TEXT             NOT NULL,
    plays       BIGINT           NOT NULL,
    completed   BIGINT           NOT NULL,
    airtime_ms  BIGINT           NOT NULL,
    PRIMARY KEY (day_start, display_id, media_id, schedule_id)
);

CREATE INDEX play_rollups_daily_org_idx ON play_rollups_daily (org_id, day_start)
    INCLUDE (display_id, media_id, schedule_id, plays, completed, airtime_ms, media_name);
CREATE INDEX play_rollups_daily_schedule_idx ON play_rollups_daily (schedule_id, day_start);
CREATE INDEX play_rollups_daily_display_idx ON play_rollups_daily (display_id, day_start);

INSERT INTO play_rollups_daily (day_start, display_id, media_id, schedule_id, org_id, media_name, plays, completed, airtime_ms)
SELECT bucket_start - (bucket_start + 25200000) % 86400000, display_id, media_id, schedule_id,
       MAX(org_id), MAX(media_name), SUM(plays), SUM(completed), SUM(airtime_ms)
FROM play_rollups_hourly
GROUP BY bucket_start - (bucket_start + 25200000) % 86400000, display_id, media_id, schedule_id;

-- rollup_closed_days records each rollup day the hourly close job has
-- finalised (when it closes the day's last hour, 16:00–17:00 UTC): its
-- daily rows recomputed from its closed hours.
CREATE TABLE rollup_closed_days (
    day_start BIGINT NOT NULL PRIMARY KEY,
    closed_at BIGINT NOT NULL
);
