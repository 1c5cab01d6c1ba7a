-- Idempotency keys: the same table as migrations/pg 000006 (see there).
-- Times are UTC text in the fixed-width layout of 000001.
CREATE TABLE idempotency_keys (
    org_id      TEXT NOT NULL,
    api_key_id  TEXT NOT NULL,
    key_hash    BLOB NOT NULL,
    fingerprint BLOB NOT NULL,
    result      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, api_key_id, key_hash),
    CONSTRAINT idempotency_keys_hash_len CHECK (length(key_hash) = 32),
    CONSTRAINT idempotency_keys_fingerprint_len CHECK (length(fingerprint) = 32)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
