package repotest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// idemRecord is a record to claim: key names the key, request the request.
func idemRecord(org, apiKey uuid.UUID, key, request string) repo.IdempotencyRecord {
	h, f := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(request))
	return repo.IdempotencyRecord{IdempotencyKey: repo.IdempotencyKey{OrgID: org, APIKeyID: apiKey, Hash: h[:]}, Fingerprint: f[:]}
}

// claim runs Claim, and Complete with result when it claimed, in one
// transaction, and returns what Claim returned.
func (e *env) claim(rec repo.IdempotencyRecord, since time.Time, result string) (stored repo.IdempotencyRecord, claimed bool, err error) {
	err = e.db.InTx(e.ctx, func(tx repo.Store) error {
		stored, claimed, err = tx.IdempotencyKeys().Claim(e.ctx, rec, since)
		if err != nil || !claimed {
			return err
		}
		return tx.IdempotencyKeys().Complete(e.ctx, rec.IdempotencyKey, []byte(result))
	})
	return stored, claimed, err
}

// errRollback makes InTx roll back in the cases below.
var errRollback = errors.New("roll back")

func idempotencyCases() []testCase {
	day := 24 * time.Hour
	return []testCase{
		{"IdempotencyKeys/ClaimCompleteReplay", func(e *env) {
			org, apiKey := e.newOrg().ID, repo.NewID()
			rec := idemRecord(org, apiKey, "k1", "POST /projects {a}")
			c := clock()
			got, claimed, err := e.claim(rec, repo.Now().Add(-day), "outcome 1")
			ok(e.t, err)
			if !claimed {
				e.t.Fatalf("the first Claim of a key did not claim it")
			}
			c.check(e.t, "CreatedAt", got.CreatedAt)
			// Another request under the key: the stored record, untouched.
			again := idemRecord(org, apiKey, "k1", "POST /projects {b}")
			stored, claimed, err := e.claim(again, repo.Now().Add(-day), "outcome 2")
			ok(e.t, err)
			if claimed {
				e.t.Fatalf("a second Claim of a stored key claimed it again")
			}
			want := rec
			want.Result, want.CreatedAt = []byte("outcome 1"), got.CreatedAt
			same(e.t, "stored record", stored, want)
		}},
		{"IdempotencyKeys/RollbackKeepsNothing", func(e *env) {
			org, apiKey := e.newOrg().ID, repo.NewID()
			rec := idemRecord(org, apiKey, "k", "r")
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				if _, claimed, err := tx.IdempotencyKeys().Claim(e.ctx, rec, repo.Now().Add(-day)); err != nil || !claimed {
					return fmt.Errorf("Claim = %v, %v; want claimed", claimed, err)
				}
				if err := tx.IdempotencyKeys().Complete(e.ctx, rec.IdempotencyKey, []byte("x")); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				e.t.Fatalf("InTx = %v, want the rollback", err)
			}
			// The key was never stored: the retry claims it.
			if _, claimed, err := e.claim(rec, repo.Now().Add(-day), "y"); err != nil || !claimed {
				e.t.Errorf("Claim after a rolled back claim = %v, %v; want claimed", claimed, err)
			}
		}},
		{"IdempotencyKeys/ScopedByOrgAndAPIKey", func(e *env) {
			orgA, orgB := e.newOrg().ID, e.newOrg().ID
			keyA, keyB := repo.NewID(), repo.NewID()
			for _, rec := range []repo.IdempotencyRecord{
				idemRecord(orgA, keyA, "same", "r"), idemRecord(orgA, keyB, "same", "r"), idemRecord(orgB, keyA, "same", "r"),
			} {
				if _, claimed, err := e.claim(rec, repo.Now().Add(-day), "x"); err != nil || !claimed {
					e.t.Errorf("Claim of key %q for org %v, API key %v = %v, %v; want claimed: another scope's record answered",
						"same", rec.OrgID, rec.APIKeyID, claimed, err)
				}
			}
		}},
		{"IdempotencyKeys/StaleRecordTakenOver", func(e *env) {
			org, apiKey := e.newOrg().ID, repo.NewID()
			first := idemRecord(org, apiKey, "k", "old request")
			_, _, err := e.claim(first, repo.Now().Add(-day), "old outcome")
			ok(e.t, err)
			// The retention has passed for it: a claim with since after its
			// creation takes the key over, with the new request's fingerprint.
			second := idemRecord(org, apiKey, "k", "new request")
			if _, claimed, err := e.claim(second, repo.Now().Add(time.Second), "new outcome"); err != nil || !claimed {
				e.t.Fatalf("Claim of a stale key = %v, %v; want claimed", claimed, err)
			}
			stored, claimed, err := e.claim(first, repo.Now().Add(-day), "z")
			ok(e.t, err)
			if claimed {
				e.t.Fatalf("the taken-over record was not stored")
			}
			same(e.t, "fingerprint", stored.Fingerprint, second.Fingerprint)
			same(e.t, "result", string(stored.Result), "new outcome")
		}},
		{"IdempotencyKeys/OutsideTransaction", func(e *env) {
			rec := idemRecord(e.newOrg().ID, repo.NewID(), "k", "r")
			_, _, err := e.db.IdempotencyKeys().Claim(e.ctx, rec, repo.Now().Add(-day))
			wantKind(e.t, err, repo.ErrInternal)
			wantKind(e.t, e.db.IdempotencyKeys().Complete(e.ctx, rec.IdempotencyKey, []byte("x")), repo.ErrInternal)
			// Nothing was stored.
			if _, claimed, err := e.claim(rec, repo.Now().Add(-day), "x"); err != nil || !claimed {
				e.t.Errorf("Claim in a transaction after the refused ones = %v, %v; want claimed", claimed, err)
			}
		}},
		{"IdempotencyKeys/CompleteUnclaimed", func(e *env) {
			rec := idemRecord(e.newOrg().ID, repo.NewID(), "k", "r")
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				return tx.IdempotencyKeys().Complete(e.ctx, rec.IdempotencyKey, []byte("x"))
			})
			wantKind(e.t, err, repo.ErrNotFound)
		}},
		{"IdempotencyKeys/Invalid", func(e *env) {
			good := idemRecord(e.newOrg().ID, repo.NewID(), "k", "r")
			for field, edit := range map[string]func(*repo.IdempotencyRecord){
				"org_id":      func(r *repo.IdempotencyRecord) { r.OrgID = uuid.Nil },
				"api_key_id":  func(r *repo.IdempotencyRecord) { r.APIKeyID = uuid.Nil },
				"key_hash":    func(r *repo.IdempotencyRecord) { r.Hash = r.Hash[:31] },
				"fingerprint": func(r *repo.IdempotencyRecord) { r.Fingerprint = nil },
			} {
				rec := good
				edit(&rec)
				_, _, err := e.claim(rec, repo.Now().Add(-day), "x")
				wantInvalid(e.t, err, field)
			}
		}},
		{"IdempotencyKeys/Prune", func(e *env) {
			org, apiKey := e.newOrg().ID, repo.NewID()
			for i := range 3 {
				_, _, err := e.claim(idemRecord(org, apiKey, fmt.Sprint("old", i), "r"), repo.Now().Add(-day), "x")
				ok(e.t, err)
			}
			cut := repo.Now().Add(time.Millisecond)
			time.Sleep(2 * time.Millisecond) // so that the next record is created after cut (not an assertion)
			young := idemRecord(org, apiKey, "young", "r")
			_, _, err := e.claim(young, repo.Now().Add(-day), "x")
			ok(e.t, err)
			for _, want := range []int64{2, 1, 0} {
				if n := must(e.db.IdempotencyKeys().Prune(e.ctx, cut, 2)).of(e.t); n != want {
					e.t.Fatalf("Prune = %d, want %d", n, want)
				}
			}
			// The pruned keys are free; the young one is kept.
			if _, claimed, err := e.claim(idemRecord(org, apiKey, "old0", "r"), repo.Now().Add(-day), "x"); err != nil || !claimed {
				e.t.Errorf("Claim of a pruned key = %v, %v; want claimed", claimed, err)
			}
			if _, claimed, err := e.claim(young, repo.Now().Add(-day), "x"); err != nil || claimed {
				e.t.Errorf("Claim of the young key after Prune = %v, %v; want its record", claimed, err)
			}
			wantInvalid(e.t, second(e.db.IdempotencyKeys().Prune(e.ctx, cut, 0)), "limit")
		}},
		{"IdempotencyKeys/InFlight", func(e *env) {
			org, apiKey := e.newOrg().ID, repo.NewID()
			rec := idemRecord(org, apiKey, "k", "r")
			if !e.h.ConcurrentWriters {
				// One writer: a second claim waits for the first
				// transaction to end, then finds its record.
				return
			}
			claimed, release := make(chan error, 1), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- e.db.InTx(e.ctx, func(tx repo.Store) error {
					_, ok, err := tx.IdempotencyKeys().Claim(e.ctx, rec, repo.Now().Add(-day))
					if err == nil && !ok {
						err = errors.New("not claimed")
					}
					claimed <- err
					if err != nil {
						return err
					}
					<-release
					return tx.IdempotencyKeys().Complete(e.ctx, rec.IdempotencyKey, []byte("first"))
				})
			}()
			ok(e.t, <-claimed)
			// While the first transaction holds the key: in flight, at once.
			// (Should the claim wait for the first transaction instead, the
			// first one ends after a while, and the claim finds its record.)
			returned := make(chan struct{})
			go func() {
				select {
				case <-returned:
				case <-time.After(2 * time.Second):
				}
				close(release)
			}()
			_, _, err := e.claim(rec, repo.Now().Add(-day), "second")
			close(returned)
			wantKind(e.t, err, repo.ErrConflict)
			if !errors.Is(err, repo.ErrKeyInFlight) {
				e.t.Errorf("Claim of a key in flight = %v, want ErrKeyInFlight", err)
			}
			ok(e.t, <-done)
			stored, claimedAgain, err := e.claim(rec, repo.Now().Add(-day), "third")
			if err != nil || claimedAgain || string(stored.Result) != "first" {
				e.t.Errorf("Claim after the first committed = %q, %v, %v; want its record", stored.Result, claimedAgain, err)
			}
		}},
	}
}
