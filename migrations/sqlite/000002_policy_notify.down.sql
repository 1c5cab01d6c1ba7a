-- No-op: see 000002_policy_notify.up.sql.
SELECT 1;
