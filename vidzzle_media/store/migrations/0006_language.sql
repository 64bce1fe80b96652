-- Languages (issue 23): a tenant's default language for its staff, customers,
-- mails and SMS; a user's own choice for the back office ('' = the tenant's).
ALTER TABLE tenants ADD COLUMN language TEXT NOT NULL DEFAULT 'de';
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
