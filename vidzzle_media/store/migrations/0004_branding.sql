-- Branding (R-BRAND): per-tenant values falling back to system defaults
-- (tenant_id NULL = the system default support edits), header/hero images,
-- the presentation library; plus indexes for the dashboard and calls list.

CREATE TABLE branding_values (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,   -- NULL: system default
    key         TEXT NOT NULL,              -- header_links, footer_text, gdpr_text, tpl.<name>.subject, ...
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX branding_values_key ON branding_values(ifnull(tenant_id, 0), key);

CREATE TABLE branding_images (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,   -- NULL: system default
    kind        TEXT NOT NULL CHECK (kind IN ('header', 'hero')),
    mime        TEXT NOT NULL,              -- image/png, image/gif, image/jpeg (by content)
    data        BLOB NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX branding_images_kind ON branding_images(ifnull(tenant_id, 0), kind);

CREATE TABLE presentations (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    file_name   TEXT NOT NULL,              -- relative to server.data_dir
    size_bytes  INTEGER NOT NULL,
    pages       INTEGER NOT NULL,
    thumbnail   BLOB NOT NULL,              -- PNG of page 1
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX presentations_tenant ON presentations(tenant_id, created_at);
CREATE UNIQUE INDEX presentations_one_default ON presentations(tenant_id) WHERE is_default = 1;

-- Dashboard: covering index, so tiles and chart read no table rows.
CREATE INDEX calls_dashboard ON calls(tenant_id, created_at, direction, state, accepted_at, duration_s);
-- Calls list filters (newest first within a tenant).
CREATE INDEX calls_tenant_state ON calls(tenant_id, state, created_at);
CREATE INDEX calls_tenant_agent ON calls(tenant_id, agent_id, created_at);
CREATE INDEX calls_tenant_flow ON calls(tenant_id, flow_id, created_at);
