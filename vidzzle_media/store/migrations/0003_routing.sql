-- Call routing: call groups, call flows, calls with their events and rings,
-- and the per-tenant webhook settings.

CREATE TABLE call_groups (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX call_groups_tenant ON call_groups(tenant_id);

CREATE TABLE call_group_members (
    group_id   INTEGER NOT NULL REFERENCES call_groups(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX call_group_members_user ON call_group_members(user_id);

CREATE TABLE call_flows (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    embed_id        TEXT NOT NULL UNIQUE,      -- >= 128 bits, urlsafe; gone with the row
    hours           TEXT NOT NULL,             -- JSON: 7 x ["HH:MM", "HH:MM"], Monday first
    exit_url        TEXT NOT NULL,
    out_of_hours_url TEXT NOT NULL,
    escalation_url  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX call_flows_tenant ON call_flows(tenant_id);

-- Ordered routing rows; a group in use cannot be deleted (RESTRICT).
CREATE TABLE call_flow_rows (
    flow_id       INTEGER NOT NULL REFERENCES call_flows(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    group_id      INTEGER NOT NULL REFERENCES call_groups(id) ON DELETE RESTRICT,
    ring_seconds  INTEGER NOT NULL CHECK (ring_seconds > 0),
    PRIMARY KEY (flow_id, position)
);
CREATE INDEX call_flow_rows_group ON call_flow_rows(group_id);

-- One row per call. flow_id is kept (no FK) after the flow is deleted, for
-- statistics and webhooks; URLs are copied so an edit does not change a
-- running call.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY,          -- uuid4
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    flow_id         INTEGER,
    direction       TEXT NOT NULL DEFAULT 'incoming' CHECK (direction IN ('incoming', 'outgoing')),
    state           TEXT NOT NULL CHECK (state IN ('ringing', 'accepted', 'ended', 'missed', 'abandoned', 'out_of_hours')),
    miss_reason     TEXT NOT NULL DEFAULT '',  -- rang_unanswered, no_member_online, interrupted
    customer_name   TEXT NOT NULL DEFAULT '',
    customer_key_hash TEXT NOT NULL DEFAULT '', -- SHA-256 of the customer's secret
    room_id         TEXT NOT NULL DEFAULT '',
    agent_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    agent_name      TEXT NOT NULL DEFAULT '',
    agent_email     TEXT NOT NULL DEFAULT '',
    base_url        TEXT NOT NULL DEFAULT '',
    exit_url        TEXT NOT NULL DEFAULT '',
    escalation_url  TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    accepted_at     TEXT,
    ended_at        TEXT,
    duration_s      REAL
);
CREATE INDEX calls_tenant_created ON calls(tenant_id, created_at);
CREATE INDEX calls_state ON calls(state);

-- Who was rung for a call, from which row, and whether they were online.
CREATE TABLE call_rings (
    call_id    TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL,
    row_index  INTEGER NOT NULL,
    online     INTEGER NOT NULL DEFAULT 0,
    rung_at    TEXT NOT NULL,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_rings_user ON call_rings(user_id);

-- Domain events (vidzzle_media/events.py), written in the transaction of the
-- state change together with its outbox deliveries.
CREATE TABLE call_events (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,                  -- JSON of the dataclass
    at         TEXT NOT NULL
);
CREATE INDEX call_events_call ON call_events(call_id, id);
CREATE INDEX call_events_tenant ON call_events(tenant_id, type, at);

CREATE TABLE webhook_settings (
    tenant_id      INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    start_url      TEXT NOT NULL DEFAULT '',
    start_headers  TEXT NOT NULL DEFAULT '',
    end_url        TEXT NOT NULL DEFAULT '',
    end_headers    TEXT NOT NULL DEFAULT '',
    secret         TEXT NOT NULL DEFAULT '',   -- signing key; shown once in the back office
    secret_created_at TEXT,
    updated_at     TEXT NOT NULL
);
