-- The event's foreign key to orgs goes. PostgreSQL checks it for every
-- event with a trigger that runs a query locking the org's row (SELECT ...
-- FOR KEY SHARE): audited/unaudited was 0.71-0.72 with it and 0.77-0.79
-- without, in BenchmarkAuditEventCost on this project's 2-CPU machine.
-- The head guard already implies it: an event is accepted only
-- if it extends its org's row in audit_heads, which references orgs, and
-- orgs are only ever soft-deleted. (migrations/sqlite 000004 drops it too,
-- and rewrites SQLite's enum CHECKs, which SQLite evaluates slowly.)
ALTER TABLE audit_events DROP CONSTRAINT audit_events_org_id_fkey;
