-- Every unaccepted call has one cause (issue 15): the old "no_member_online"
-- is now "no_agent_available" (nobody online or free), and the calls that
-- ended out of hours or were left by the customer get the cause their state
-- implied.
UPDATE calls SET miss_reason = 'no_agent_available' WHERE miss_reason = 'no_member_online';
UPDATE calls SET miss_reason = 'out_of_hours' WHERE state = 'out_of_hours' AND miss_reason = '';
UPDATE calls SET miss_reason = 'customer_cancelled' WHERE state = 'abandoned' AND miss_reason = '';
