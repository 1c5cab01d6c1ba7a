-- Cross-instance RBAC cache invalidation: whenever an org's policy version
-- changes, NOTIFY the channel strata_policy with the payload
-- "<org id>:<new policy version>" (e.g. "0190...-...:42"). Every server instance
-- LISTENs on it (pgrepo.PolicyWatcher) and drops its cached grants of the org.
--
-- NOTIFY is transactional: the notification is delivered when the transaction
-- that bumped the version commits, and never if it rolls back. Updates that
-- leave policy_version as it was notify nothing.
CREATE FUNCTION orgs_notify_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('strata_policy', NEW.id::text || ':' || NEW.policy_version::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER orgs_policy_notify
    AFTER UPDATE OF policy_version ON orgs
    FOR EACH ROW
    WHEN (NEW.policy_version IS DISTINCT FROM OLD.policy_version)
    EXECUTE FUNCTION orgs_notify_policy_version();
