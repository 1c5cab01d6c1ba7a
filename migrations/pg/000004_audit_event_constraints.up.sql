-- No-op: keeps this folder in step with migrations/sqlite, whose 000004
-- rewrites the audit_events enum CHECKs as comparisons, which SQLite
-- evaluates much faster than IN lists. PostgreSQL evaluates IN lists of
-- constants without that cost.
SELECT 1;
