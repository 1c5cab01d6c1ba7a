-- No-op: keeps this folder in step with migrations/pg, whose 000002 makes
-- PostgreSQL NOTIFY the other server instances of policy version changes.
-- SQLite has no NOTIFY, and a SQLite file is served by one process, which
-- learns of its own changes directly (rbac.Authorizer.Invalidate).
SELECT 1;
