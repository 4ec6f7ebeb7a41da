-- 0002_playlists (PostgreSQL): playlists and their immutable revisions.
--
-- A playlist row holds what identifies it and which revision is current;
-- every change writes a new playlist_revisions row and moves
-- current_revision, in one transaction. A revision keeps its items as JSON
-- text (defaults already resolved, times as unix milliseconds): revisions
-- are never updated, only read whole, so one row per revision is all they
-- need. name and name_fold repeat the current revision's name for search.

CREATE TABLE playlists (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id           TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    name             TEXT   NOT NULL,
    name_fold        TEXT   NOT NULL,
    current_revision BIGINT NOT NULL CHECK (current_revision >= 1),
    created_by       TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE INDEX playlists_org_id_idx ON playlists (org_id, id);

CREATE TABLE playlist_revisions (
    playlist_id TEXT COLLATE "C" NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    revision    BIGINT NOT NULL CHECK (revision >= 1),
    name        TEXT   NOT NULL,
    items_json  TEXT   NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (playlist_id, revision)
);

-- The media of each playlist's current revision, kept in the same
-- transaction as the revision. Its RESTRICT foreign key is what refuses to
-- delete media that a playlist plays ("media is used by a playlist"); older
-- revisions do not hold media back.
CREATE TABLE playlist_media (
    playlist_id TEXT COLLATE "C" NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    media_id    TEXT COLLATE "C" NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    PRIMARY KEY (playlist_id, media_id)
);

-- media_id: PostgreSQL does not index referencing columns by itself; the
-- foreign key check on every media delete and the media_id filter of the
-- playlist list need it.
CREATE INDEX playlist_media_media_id_idx ON playlist_media (media_id, playlist_id);
