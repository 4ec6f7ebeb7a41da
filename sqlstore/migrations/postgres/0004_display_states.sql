-- 0004_display_states (PostgreSQL): the last desired state built for each
-- display, with its revision and the SHA-256 of its content (the JSON with
-- revision 0). A rebuild with the same hash keeps the revision; any other
-- increases it. Deleting a display drops its state.

CREATE TABLE display_states (
    display_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES displays (id) ON DELETE CASCADE,
    revision   BIGINT NOT NULL,
    hash       TEXT   NOT NULL,
    state_json TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
