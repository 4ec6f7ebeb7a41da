-- 0005_state_refs (SQLite): what each stored desired state references, so a
-- change to a schedule, playlist or media item finds the displays it
-- reaches; and when its earliest rule expires, so a periodic job rebuilds it
-- to prune that rule. Both are written in the transaction that stores the
-- state. index_version is the version of the scheme that computed them: a
-- state saved before (0) is indexed again, its revision unchanged, on its
-- next build.

ALTER TABLE display_states ADD COLUMN next_prune_at INTEGER;
ALTER TABLE display_states ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;

CREATE INDEX display_states_next_prune_at ON display_states (next_prune_at);

CREATE TABLE display_state_refs (
    display_id TEXT NOT NULL REFERENCES display_states (display_id) ON DELETE CASCADE,
    ref_id     TEXT NOT NULL,
    PRIMARY KEY (display_id, ref_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX display_state_refs_ref_id ON display_state_refs (ref_id);
