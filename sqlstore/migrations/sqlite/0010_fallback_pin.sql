-- 0010_fallback_pin (SQLite): a display's fallback plays a pinned playlist revision (issue 5).
--
-- A fallback played its playlist's current revision, so an edit of a
-- playlist used as a fallback reached screens without approval.
-- fallback_revision pins the revision the fallback plays: it is set to the
-- playlist's current revision whenever an admin (who holds the approve
-- permission) sets the fallback, on create or on PUT (a PUT naming the same
-- fallback re-pins), and nothing else changes it. NULL exactly when there
-- is no fallback. Revisions are never deleted while the playlist exists, and
-- the RESTRICT foreign key of fallback_playlist_id keeps the playlist.
--
-- display_fallback_media mirrors the media of each pinned revision, as
-- approved_schedule_media does for approved schedules: its RESTRICT foreign
-- key keeps media that a fallback plays from being deleted.
--
-- Displays that have a fallback when this migration runs pin their
-- playlist's current revision, so that upgrading changes nothing on screens.

ALTER TABLE displays ADD COLUMN fallback_revision INTEGER;

CREATE TABLE display_fallback_media (
    display_id TEXT NOT NULL REFERENCES displays (id) ON DELETE CASCADE,
    media_id   TEXT NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    PRIMARY KEY (display_id, media_id)
) STRICT, WITHOUT ROWID;

-- The RESTRICT check on every media delete.
CREATE INDEX display_fallback_media_media_id_idx ON display_fallback_media (media_id, display_id);

UPDATE displays SET fallback_revision =
    (SELECT p.current_revision FROM playlists p WHERE p.id = displays.fallback_playlist_id)
WHERE fallback_playlist_id IS NOT NULL;

INSERT INTO display_fallback_media (display_id, media_id)
SELECT d.id, pm.media_id FROM displays d JOIN playlist_media pm ON pm.playlist_id = d.fallback_playlist_id;
