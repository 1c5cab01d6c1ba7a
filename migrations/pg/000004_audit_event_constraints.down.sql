ALTER TABLE audit_events ADD CONSTRAINT audit_events_org_id_fkey
    FOREIGN KEY (org_id) REFERENCES orgs (id);
