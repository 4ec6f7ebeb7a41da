-- 0002_playlists (SQLite): playlists and their immutable revisions.
--
-- A playlist row holds what identifies it and which revision is current;
-- every change writes a new playlist_revisions row and moves
-- current_revision, in one transaction. A revision keeps its items as JSON
-- text (defaults already resolved, times as unix milliseconds): revisions
-- are never updated, only read whole, so one row per revision is all they
-- need. name and name_fold repeat the current revision's name for search.

CREATE TABLE playlists (
    id               TEXT    NOT NULL PRIMARY KEY,
    org_id           TEXT    NOT NULL REFERENCES organisations (id),
    name             TEXT    NOT NULL,
    name_fold        TEXT    NOT NULL,
    current_revision INTEGER NOT NULL CHECK (current_revision >= 1),
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX playlists_org_id_idx ON playlists (org_id, id);

CREATE TABLE playlist_revisions (
    playlist_id TEXT    NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL CHECK (revision >= 1),
    name        TEXT    NOT NULL,
    items_json  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (playlist_id, revision)
) STRICT;

-- The media of each playlist's current revision, kept in the same
-- transaction as the revision. Its RESTRICT foreign key is what refuses to
-- delete media that a playlist plays ("media is used by a playlist"); older
-- revisions do not hold media back.
CREATE TABLE playlist_media (
    playlist_id TEXT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    media_id    TEXT NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    PRIMARY KEY (playlist_id, media_id)
) STRICT, WITHOUT ROWID;

-- media_id: the foreign key check on every media delete, and the media_id
-- filter of the playlist list.
CREATE INDEX playlist_media_media_id_idx ON playlist_media (media_id, playlist_id);
