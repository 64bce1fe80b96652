-- Busy and declining agents (issue 15): a flow may ring agents who are in a
-- call already (off by default), and an agent's "Decline" is kept on the ring.
ALTER TABLE call_flows ADD COLUMN ring_busy_agents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_rings ADD COLUMN declined_at TEXT;
-- the ring went out by mail or SMS too: an agent offline in the browser can
-- still take the call through the link
ALTER TABLE call_rings ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;
-- "who is in a call now": accepted calls by agent
CREATE INDEX calls_accepted_agent ON calls(tenant_id, agent_id) WHERE state = 'accepted';
