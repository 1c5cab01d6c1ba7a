DROP TRIGGER IF EXISTS orgs_policy_notify ON orgs;
DROP FUNCTION IF EXISTS orgs_notify_policy_version();
