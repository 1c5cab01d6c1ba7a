package service

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// Idempotency keys make a mutation exactly-once for a client that retries
// it after losing the answer (a timeout, a failover, a restart of either
// side): the client sends the same key with each attempt
// (Request.IdempotencyKey), and the service
//
//   - claims the key, scoped to the caller's org and API key, in the
//     mutation's own transaction, and stores the mutation's result under
//     it there: the key, the change and its audit event commit together
//     or not at all;
//   - answers an attempt whose key has a stored result with that result,
//     without changing anything or recording another event: the use case
//     returns what it returned the first time;
//   - refuses an attempt whose key was first used for a different request
//     (another Request.Fingerprint) with ErrKeyReused, and one made while
//     another attempt under the key is still being processed with an
//     ErrConflict wrapping repo.ErrKeyInFlight.
//
// An attempt that fails stores nothing, whatever the failure (invalid
// input, a conflict, a denial, the database unavailable): nothing was
// changed, so a retry runs the mutation afresh and is authorized afresh.
// A denied attempt is recorded in the audit trail in a transaction of its
// own, as always, and each denied retry is recorded as another attempt. A
// replay is still authenticated and authorized first: a caller who lost the
// permission since gets a denial, not the stored result.
//
// Results are kept for the retention (Options.IdempotencyTTL, 24 h by
// default); PruneIdempotencyKeys deletes older ones. The key itself is not
// stored, only a SHA-256 of it, and the stored result (which may hold a new
// API key's secret) is encrypted with AES-256-GCM under a key derived from
// the client's key and its scope: only a client presenting the key can have
// it replayed, and a reader of the database learns nothing from the table
// without guessing the key. Keys should therefore be random (a UUIDv4).

// DefaultIdempotencyTTL is how long results are kept when
// Options.IdempotencyTTL is 0.
const DefaultIdempotencyTTL = 24 * time.Hour

// ErrKeyReused is wrapped by the ErrInvalid of a mutation whose idempotency
// key was first used for a different request.
var ErrKeyReused = errors.New("this idempotency key was used for a different request")

// pruneBatch is how many records one statement of PruneIdempotencyKeys
// deletes: a batch holds SQLite's write lock for a millisecond or so.
const pruneBatch = 500

// idempotency is a mutation's idempotency key, ready to claim.
type idempotency struct {
	rec  repo.IdempotencyRecord // the key and the request's fingerprint
	aead cipher.AEAD            // seals the stored result
}

// idempotencyOf returns p's idempotency key, or nil when the request has
// none. Only a caller authenticated by an API key has one: the key is
// scoped to it.
func idempotencyOf(p Principal) (*idempotency, error) {
	if p.IdempotencyKey == "" || p.KeyID == uuid.Nil {
		return nil, nil
	}
	if p.Fingerprint == [sha256.Size]byte{} {
		return nil, repo.Invalid("fingerprint", "must be a SHA-256 of the request")
	}
	hash := sha256.Sum256([]byte("strata idempotency key v1\x00" + p.IdempotencyKey))
	// The sealing key covers the scope too, and is independent of the
	// stored hash.
	h := sha256.New()
	h.Write([]byte("strata idempotency result v1\x00"))
	h.Write(p.OrgID[:])
	h.Write(p.KeyID[:])
	h.Write([]byte(p.IdempotencyKey))
	block, err := aes.NewCipher(h.Sum(nil))
	if err != nil {
		return nil, err // unreachable: the key is 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &idempotency{
		rec: repo.IdempotencyRecord{
			IdempotencyKey: repo.IdempotencyKey{OrgID: p.OrgID, APIKeyID: p.KeyID, Hash: hash[:]},
			Fingerprint:    p.Fingerprint[:],
		},
		aead: aead,
	}, nil
}

// claim claims the key in tx. When a result is stored under it already, it
// decodes that result into out (a pointer, or nil for a mutation without
// one) and reports replayed; when the key was used for another request, or
// is held by another transaction, it fails.
func (im *idempotency) claim(ctx context.Context, tx repo.Store, since time.Time, out any) (replayed bool, err error) {
	stored, claimed, err := tx.IdempotencyKeys().Claim(ctx, im.rec, since)
	if err != nil || claimed {
		return false, err
	}
	if !bytes.Equal(stored.Fingerprint, im.rec.Fingerprint) {
		return false, &repo.Error{Kind: repo.ErrInvalid, Field: "Idempotency-Key", Message: ErrKeyReused.Error(), Err: ErrKeyReused}
	}
	if err := im.open(stored.Result, out); err != nil {
		return false, &repo.Error{Kind: repo.ErrInternal, Message: "idempotency key: unreadable stored result", Err: err}
	}
	return true, nil
}

// complete stores out, the mutation's result, under the key in tx.
func (im *idempotency) complete(ctx context.Context, tx repo.Store, out any) error {
	plain, err := json.Marshal(out)
	if err != nil {
		return &repo.Error{Kind: repo.ErrInternal, Message: "idempotency key: result not encodable", Err: err}
	}
	nonce := make([]byte, im.aead.NonceSize(), im.aead.NonceSize()+len(plain)+im.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return tx.IdempotencyKeys().Complete(ctx, im.rec.IdempotencyKey, im.aead.Seal(nonce, nonce, plain, im.rec.Hash))
}

// open decrypts a stored result into out.
func (im *idempotency) open(sealed []byte, out any) error {
	n := im.aead.NonceSize()
	if len(sealed) < n {
		return errors.New("sealed result too short")
	}
	plain, err := im.aead.Open(nil, sealed[:n], sealed[n:], im.rec.Hash)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	reflect.ValueOf(out).Elem().SetZero() // what an earlier run of the transaction left
	return json.Unmarshal(plain, out)
}

// flights are the idempotency keys of the mutations this process is
// running, so that a retry that arrives while the first attempt is still
// at work (waiting for a primary, say) is refused at once, before it takes
// a connection. Across processes, on PostgreSQL, Claim finds a key held by
// another transaction.
type flights struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// hold marks the key of im in flight, or fails if it is; release ends it.
func (f *flights) hold(im *idempotency) (release func(), err error) {
	k := im.rec.APIKeyID.String() + string(im.rec.Hash)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.m[k]; busy {
		return nil, repo.KeyInFlight()
	}
	if f.m == nil {
		f.m = map[string]struct{}{}
	}
	f.m[k] = struct{}{}
	return func() {
		f.mu.Lock()
		delete(f.m, k)
		f.mu.Unlock()
	}, nil
}

// PruneIdempotencyKeys deletes the idempotency records older than the
// retention, a small batch per statement, and returns how many it deleted.
// strata serve runs it every few minutes.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int64, error) {
	before := s.now().Add(-s.idemTTL)
	var total int64
	for {
		n, err := s.store.IdempotencyKeys().Prune(ctx, before, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}
