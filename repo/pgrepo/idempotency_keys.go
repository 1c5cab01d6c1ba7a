package pgrepo

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

// idempotencyKeys implements repo.IdempotencyKeys.
type idempotencyKeys struct{ s *Store }

// claims are the idempotency keys a transaction claimed.
type claims []repo.IdempotencyKey

func (c claims) has(k repo.IdempotencyKey) bool { return slices.ContainsFunc(c, k.Equal) }

// lockID is the advisory lock a claim of k tries: 64 bits of a SHA-256 of
// the key's whole scope, so that two keys share a lock (and one looks in
// flight while the other is) with probability 2^-64.
func lockID(k repo.IdempotencyKey) int64 {
	h := sha256.New()
	h.Write(k.OrgID[:])
	h.Write(k.APIKeyID[:])
	h.Write(k.Hash)
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

func (r idempotencyKeys) Claim(ctx context.Context, rec repo.IdempotencyRecord, since time.Time) (repo.IdempotencyRecord, bool, error) {
	tx := r.s.tx
	if tx == nil {
		return repo.IdempotencyRecord{}, false, repo.NotInTx("Claim")
	}
	if err := repo.ValidateIdempotencyRecord(rec); err != nil {
		return repo.IdempotencyRecord{}, false, err
	}
	since = repo.Timestamp(since)
	rec.CreatedAt, rec.Result = repo.Now(), nil
	k := rec.IdempotencyKey
	n, err := r.s.w.ClaimIdempotencyKey(ctx, pgdb.ClaimIdempotencyKeyParams{
		OrgID: k.OrgID, ApiKeyID: k.APIKeyID, KeyHash: k.Hash, Fingerprint: rec.Fingerprint,
		CreatedAt: rec.CreatedAt, LockID: lockID(k), Since: since,
	})
	if err != nil {
		return repo.IdempotencyRecord{}, false, mapErr(err, "idempotency key")
	}
	if n == 1 {
		tx.claims = append(tx.claims, k)
		return rec, true, nil
	}
	// A record not older than since, or the key's lock held elsewhere.
	row, err := r.s.w.GetIdempotencyKey(ctx, pgdb.GetIdempotencyKeyParams{OrgID: k.OrgID, ApiKeyID: k.APIKeyID, KeyHash: k.Hash, Since: since})
	if errNoRows(err) {
		return repo.IdempotencyRecord{}, false, repo.KeyInFlight()
	}
	if err != nil {
		return repo.IdempotencyRecord{}, false, mapErr(err, "idempotency key")
	}
	return repo.IdempotencyRecord{
		IdempotencyKey: repo.IdempotencyKey{OrgID: row.OrgID, APIKeyID: row.ApiKeyID, Hash: row.KeyHash},
		Fingerprint:    row.Fingerprint, Result: row.Result, CreatedAt: repo.Timestamp(row.CreatedAt),
	}, false, nil
}

// Complete queues the UPDATE with the transaction's COMMIT (see txConn):
// no round trip of its own.
func (r idempotencyKeys) Complete(ctx context.Context, key repo.IdempotencyKey, result []byte) error {
	tx := r.s.tx
	if tx == nil {
		return repo.NotInTx("Complete")
	}
	if !tx.claims.has(key) {
		return repo.NotFound("idempotency key")
	}
	_, err := pgdb.New(tx.deferred()).CompleteIdempotencyKey(ctx, pgdb.CompleteIdempotencyKeyParams{
		Result: result, OrgID: key.OrgID, ApiKeyID: key.APIKeyID, KeyHash: key.Hash,
	})
	return mapErr(err, "idempotency key")
}

func (r idempotencyKeys) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, repo.Invalid("limit", "must be positive")
	}
	n, err := r.s.w.PruneIdempotencyKeys(ctx, pgdb.PruneIdempotencyKeysParams{Before: repo.Timestamp(before), Lim: int32(min(limit, 1<<30))})
	return n, mapErr(err, "idempotency keys")
}
