-- 0012_alerts (PostgreSQL): offline alerts and webhooks (issue 6).
--
-- displays.offline_alert_after overrides, per display, how long (seconds)
-- it may stay silent before an alert opens; NULL uses the server's default
-- (--offline-alert-after, 5 min).
--
-- alerts: one row per offline episode of a display. closed_at is NULL while
-- it is open; the partial unique index keeps at most one open alert per
-- display, so two detector runs (or a restart, or two replicas) can never
-- open a second one. No foreign keys: like plays, an alert outlives the
-- display, whose name and organisation it copies. Times are unix ms.
--
-- webhooks: where alerts are posted, owned by an organisation: a webhook
-- receives the alerts of displays in its organisation's subtree. events is
-- a comma-separated list (alert.opened, alert.closed).
--
-- webhook_deliveries is the persistent outbox: one row per webhook × event,
-- written in the transaction that opens or closes the alert, so a restart
-- loses nothing. The sender posts rows whose next_attempt_at is due, with
-- the row's id as the idempotency key, and reschedules failures with
-- exponential back-off until they are delivered or given up (state failed).
-- Deleting a webhook drops its pending deliveries.

ALTER TABLE displays ADD COLUMN offline_alert_after BIGINT;

CREATE TABLE alerts (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_id   TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    org_id       TEXT COLLATE "C" NOT NULL,
    opened_at    BIGINT NOT NULL,
    closed_at    BIGINT,
    last_seen    BIGINT
);

CREATE UNIQUE INDEX alerts_open_display_idx ON alerts (display_id) WHERE closed_at IS NULL;
CREATE INDEX alerts_opened_at_idx ON alerts (opened_at, id);
CREATE INDEX alerts_display_opened_at_idx ON alerts (display_id, opened_at);

CREATE TABLE webhooks (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id     TEXT COLLATE "C" NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url        TEXT COLLATE "C" NOT NULL,
    secret     TEXT COLLATE "C" NOT NULL,
    events     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX webhooks_org_id_idx ON webhooks (org_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    webhook_id      TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           TEXT COLLATE "C" NOT NULL,
    alert_json      TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    state           TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    last_error      TEXT COLLATE "C" NOT NULL DEFAULT '',
    delivered_at    BIGINT
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_id_idx ON webhook_deliveries (webhook_id);
