package sqliterepo

import (
	"context"
	"slices"
	"time"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// idempotencyKeys implements repo.IdempotencyKeys. Claims need no lock: the
// single writer runs one transaction at a time.
type idempotencyKeys struct{ s *store }

func (r idempotencyKeys) Claim(ctx context.Context, rec repo.IdempotencyRecord, since time.Time) (repo.IdempotencyRecord, bool, error) {
	if !r.s.inTx {
		return repo.IdempotencyRecord{}, false, repo.NotInTx("Claim")
	}
	if err := repo.ValidateIdempotencyRecord(rec); err != nil {
		return repo.IdempotencyRecord{}, false, err
	}
	sinceText := formatTime(since)
	rec.CreatedAt, rec.Result = repo.Now(), nil
	k := rec.IdempotencyKey
	n, err := r.s.write.ClaimIdempotencyKey(ctx, sqlitedb.ClaimIdempotencyKeyParams{
		OrgID: k.OrgID, ApiKeyID: k.APIKeyID, KeyHash: k.Hash, Fingerprint: rec.Fingerprint,
		CreatedAt: formatTime(rec.CreatedAt), Since: sinceText,
	})
	if err != nil {
		return repo.IdempotencyRecord{}, false, mapErr(err, "idempotency key")
	}
	if n == 1 {
		r.s.claims = append(r.s.claims, k)
		return rec, true, nil
	}
	row, err := r.s.write.GetIdempotencyKey(ctx, sqlitedb.GetIdempotencyKeyParams{OrgID: k.OrgID, ApiKeyID: k.APIKeyID, KeyHash: k.Hash, Since: sinceText})
	stored, err := one(row, err, "idempotency key", toIdempotencyRecord)
	return stored, false, err
}

func toIdempotencyRecord(row sqlitedb.IdempotencyKey) (repo.IdempotencyRecord, error) {
	var d decoder
	rec := repo.IdempotencyRecord{
		IdempotencyKey: repo.IdempotencyKey{OrgID: row.OrgID, APIKeyID: row.ApiKeyID, Hash: row.KeyHash},
		Fingerprint:    row.Fingerprint, Result: row.Result, CreatedAt: d.time(row.CreatedAt),
	}
	return rec, d.err
}

func (r idempotencyKeys) Complete(ctx context.Context, key repo.IdempotencyKey, result []byte) error {
	if !r.s.inTx {
		return repo.NotInTx("Complete")
	}
	if !slices.ContainsFunc(r.s.claims, key.Equal) {
		return repo.NotFound("idempotency key")
	}
	_, err := r.s.write.CompleteIdempotencyKey(ctx, sqlitedb.CompleteIdempotencyKeyParams{
		Result: result, OrgID: key.OrgID, ApiKeyID: key.APIKeyID, KeyHash: key.Hash,
	})
	return mapErr(err, "idempotency key")
}

func (r idempotencyKeys) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, repo.Invalid("limit", "must be positive")
	}
	n, err := r.s.write.PruneIdempotencyKeys(ctx, sqlitedb.PruneIdempotencyKeysParams{Before: formatTime(before), Lim: int64(limit)})
	return n, mapErr(err, "idempotency keys")
}
