-- "We'll call you back" (issue 15): a customer who could not be served
-- leaves name, phone or email and a preferred time; the flow's groups see it
-- in the back office as an open callback until someone marks it done.
ALTER TABLE call_flows ADD COLUMN offer_callback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_settings ADD COLUMN callback_url TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_settings ADD COLUMN callback_headers TEXT NOT NULL DEFAULT '';
CREATE TABLE callbacks (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    flow_id          INTEGER REFERENCES call_flows(id) ON DELETE SET NULL,
    call_id          TEXT UNIQUE REFERENCES calls(id) ON DELETE SET NULL,   -- the call nobody could take
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    preferred        TEXT NOT NULL DEFAULT '',                           -- "tomorrow after 4 pm"
    state            TEXT NOT NULL DEFAULT 'open',                      -- open, claimed, done
    claimed_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    claimed_by_name  TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    claimed_at       TEXT,
    done_at          TEXT,
    followup_call_id TEXT
);
CREATE INDEX callbacks_tenant_state ON callbacks(tenant_id, state, created_at);
