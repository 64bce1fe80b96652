-- An optional picture per call group (issue 15): shown to the customer
-- waiting for that group. A 160x160 PNG re-encoded from the upload.
ALTER TABLE call_groups ADD COLUMN picture BLOB;
-- queue position: the ringing calls of one flow
CREATE INDEX calls_flow_ringing ON calls(flow_id, created_at) WHERE state = 'ringing';
