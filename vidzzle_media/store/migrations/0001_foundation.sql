-- Foundation: tenants, accounts, one-time tokens, the outbox and login throttling.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,                 -- company name: __DEALER_NAME__ / __DEALER_COMPANY_NAME__
    street      TEXT NOT NULL DEFAULT '',
    zip         TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    timezone    TEXT NOT NULL DEFAULT 'Europe/Berlin',
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER REFERENCES tenants(id) ON DELETE CASCADE,   -- NULL only for support
    role           TEXT NOT NULL CHECK (role IN ('support', 'admin', 'user')),
    name           TEXT NOT NULL,
    email          TEXT NOT NULL COLLATE NOCASE UNIQUE,
    mobile         TEXT NOT NULL DEFAULT '',
    password_hash  TEXT,
    locked         INTEGER NOT NULL DEFAULT 1,
    notify_email   INTEGER NOT NULL DEFAULT 1,
    notify_sms     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    CHECK ((role = 'support') = (tenant_id IS NULL))
);
CREATE INDEX users_tenant ON users(tenant_id);

-- One-time links: only the SHA-256 of the token is stored.
CREATE TABLE one_time_tokens (
    token_hash  TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,                 -- optin, reset, call, invite
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
    subject     TEXT NOT NULL DEFAULT '',      -- what the link opens, e.g. a call id
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX one_time_tokens_user ON one_time_tokens(user_id);

-- Transactional outbox: written in the same transaction as the change that
-- causes it, delivered by background senders with retries.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('email', 'sms', 'webhook')),
    recipient        TEXT NOT NULL,
    payload          TEXT NOT NULL,            -- JSON, kind-specific
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox(kind, state, next_attempt_at);
CREATE INDEX outbox_tenant ON outbox(tenant_id, kind, created_at);

-- Every delivery attempt (the webhook delivery log shows these).
CREATE TABLE outbox_attempts (
    id         INTEGER PRIMARY KEY,
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    ok         INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT '',       -- HTTP status or SMTP reply code
    error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_item ON outbox_attempts(outbox_id);

CREATE TABLE login_failures (
    id   INTEGER PRIMARY KEY,
    key  TEXT NOT NULL,                        -- 'account:<email>' or 'address:<ip>'
    at   TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);

-- Install-wide values support can change (e.g. appname).
CREATE TABLE system_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
