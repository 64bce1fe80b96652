-- Closed days of a call flow (issue 15): a regional public-holiday calendar
-- ('DE-BY'; '' for none) and one-off exceptions, JSON
-- [["YYYY-MM-DD", null | ["HH:MM", "HH:MM"]], ...] (null: closed all day).
ALTER TABLE call_flows ADD COLUMN holiday_region TEXT NOT NULL DEFAULT '';
ALTER TABLE call_flows ADD COLUMN exceptions TEXT NOT NULL DEFAULT '[]';
