-- "Users logged in now" (R-DASH-1): when each account last used the back
-- office; NULL after logging out. Written at most once a minute per user.
ALTER TABLE users ADD COLUMN last_seen_at TEXT;
CREATE INDEX users_seen ON users(tenant_id, last_seen_at);
