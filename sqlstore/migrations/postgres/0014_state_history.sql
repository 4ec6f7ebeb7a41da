-- 0014_state_history (PostgreSQL): every desired state a display was given.
--
-- display_states keeps each display's current state only. Compliance
-- reports plan a past period with the states the display had then, so
-- each new revision is also appended here, with the instant it was saved
-- (valid_from: it is in effect until the display's next revision). Written
-- by a trigger, so every path that saves a state records it. Like plays it
-- outlives the display (no foreign key). Existing states are copied in.

CREATE TABLE display_state_history (
    display_id TEXT COLLATE "C" NOT NULL,
    revision   BIGINT           NOT NULL,
    valid_from BIGINT           NOT NULL,
    state_json TEXT             NOT NULL,
    PRIMARY KEY (display_id, revision)
);

CREATE INDEX display_state_history_from_idx ON display_state_history (display_id, valid_from);

INSERT INTO display_state_history (display_id, revision, valid_from, state_json)
SELECT display_id, revision, updated_at, state_json FROM display_states;

CREATE FUNCTION display_state_history_append() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.revision <> OLD.revision THEN
        INSERT INTO display_state_history (display_id, revision, valid_from, state_json)
        VALUES (NEW.display_id, NEW.revision, NEW.updated_at, NEW.state_json)
        ON CONFLICT (display_id, revision) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER display_state_history_append AFTER INSERT OR UPDATE OF revision ON display_states
    FOR EACH ROW EXECUTE FUNCTION display_state_history_append();
