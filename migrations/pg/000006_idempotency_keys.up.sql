-- Idempotency keys (the Idempotency-Key header): the outcome of each
-- mutation a client made under a key, scoped to the org and the API key
-- that sent it, written in the mutation's own transaction, so that a retry
-- of a mutation whose answer was lost replays its outcome instead of
-- applying it again (see repo.IdempotencyKeys). The key itself is not
-- stored, only its SHA-256; the result is sealed by the service under a key
-- derived from it. Rows older than the server's retention (24 h by default)
-- are pruned in small batches.
--
-- No foreign keys: the rows live a day, and a key check per insert would
-- lock the org's row (FOR KEY SHARE) in every idempotent mutation.
CREATE TABLE idempotency_keys (
    org_id      uuid        NOT NULL,
    api_key_id  uuid        NOT NULL,
    key_hash    bytea       NOT NULL,
    fingerprint bytea       NOT NULL,
    result      bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, api_key_id, key_hash),
    CONSTRAINT idempotency_keys_hash_len CHECK (octet_length(key_hash) = 32),
    CONSTRAINT idempotency_keys_fingerprint_len CHECK (octet_length(fingerprint) = 32)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
