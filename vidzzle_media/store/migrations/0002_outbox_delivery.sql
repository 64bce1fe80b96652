-- Outbox delivery: crash-safe claims, attempt durations and the SMS log.

-- A worker claims a due row by writing a fresh claim token and pushing
-- next_attempt_at out by a lease; the confirmation (sent/failed) clears it.
-- A claim left behind by a killed process is released at the next start.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
-- Give-up deadline after support pressed "retry" on a failed row (NULL: created_at + the kind's window).
ALTER TABLE outbox ADD COLUMN retry_until TEXT;

ALTER TABLE outbox_attempts ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_attempts_at ON outbox_attempts(at);

-- Messages of the built-in `log` SMS sender (installs without a gateway);
-- one row per outbox item, so a repeated attempt never stores a duplicate.
CREATE TABLE sms_log (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL UNIQUE REFERENCES outbox(id) ON DELETE CASCADE,
    tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
    recipient   TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX sms_log_tenant ON sms_log(tenant_id, created_at);
