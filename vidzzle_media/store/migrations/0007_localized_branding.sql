-- Branding texts per language (issue 23): a tenant's GDPR notice, SMS texts
-- and mail templates are stored per language as 'key@de'. A text a tenant
-- saved before is in the tenant's language. System-level texts keep their
-- plain key: it applies to every language without a text of its own.
UPDATE branding_values
   SET key = key || '@' || (SELECT language FROM tenants WHERE tenants.id = branding_values.tenant_id)
 WHERE tenant_id IS NOT NULL
   AND key NOT LIKE '%@%'
   AND (key IN ('gdpr_text', 'sms_invitation', 'sms_notification') OR key LIKE 'tpl.%');
