DROP TRIGGER IF EXISTS audit_events_extend_head ON audit_events;
DROP FUNCTION IF EXISTS audit_events_extend_head();
