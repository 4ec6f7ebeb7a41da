-- 0014_state_history (SQLite): every desired state a display was given.
--
-- display_states keeps each display's current state only. Compliance
-- reports plan a past period with the states the display had then, so
-- each new revision is also appended here, with the instant it was saved
-- (valid_from: it is in effect until the display's next revision). Written
-- by triggers, so every path that saves a state records it. Like plays it
-- outlives the display (no foreign key). Existing states are copied in.

CREATE TABLE display_state_history (
    display_id TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    valid_from INTEGER NOT NULL,
    state_json TEXT    NOT NULL,
    PRIMARY KEY (display_id, revision)
) STRICT;

CREATE INDEX display_state_history_from_idx ON display_state_history (display_id, valid_from);

INSERT INTO display_state_history (display_id, revision, valid_from, state_json)
SELECT display_id, revision, updated_at, state_json FROM display_states;

CREATE TRIGGER display_state_history_insert AFTER INSERT ON display_states
BEGIN
    INSERT OR IGNORE INTO display_state_history (display_id, revision, valid_from, state_json)
    VALUES (NEW.display_id, NEW.revision, NEW.updated_at, NEW.state_json);
END;

CREATE TRIGGER display_state_history_update AFTER UPDATE OF revision ON display_states
WHEN NEW.revision <> OLD.revision
BEGIN
    INSERT OR IGNORE INTO display_state_history (display_id, revision, valid_from, state_json)
    VALUES (NEW.display_id, NEW.revision, NEW.updated_at, NEW.state_json);
END;
