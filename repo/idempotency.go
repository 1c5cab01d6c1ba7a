package repo

import (
	"bytes"
	"errors"
	"time"

	"github.com/google/uuid"
)

// IdempotencyKey names one idempotency key of a client (the Idempotency-Key
// header): the key's hash, scoped to the org and the API key that sent it.
// Two API keys, or two orgs, never share a record.
type IdempotencyKey struct {
	OrgID    uuid.UUID
	APIKeyID uuid.UUID
	// Hash is a SHA-256 of the key as the client sent it (32 bytes); the
	// key itself is not stored.
	Hash []byte
}

// Equal reports whether k and o name the same key.
func (k IdempotencyKey) Equal(o IdempotencyKey) bool {
	return k.OrgID == o.OrgID && k.APIKeyID == o.APIKeyID && bytes.Equal(k.Hash, o.Hash)
}

// IdempotencyRecord is what is stored under an idempotency key: which
// request the key was first used for, and the outcome of the mutation it
// made.
type IdempotencyRecord struct {
	IdempotencyKey
	// Fingerprint identifies the request (a SHA-256 of it, 32 bytes): the
	// same key sent with another request is refused.
	Fingerprint []byte
	// Result is the mutation's outcome, opaque to the repository; empty
	// until Complete stores it.
	Result    []byte
	CreatedAt time.Time
}

// ErrKeyInFlight is wrapped by the ErrConflict of IdempotencyKeys.Claim when
// another transaction holds the key: a request under the same key is being
// processed right now.
var ErrKeyInFlight = errors.New("a request with this idempotency key is in flight")

// KeyInFlight returns the ErrConflict error wrapping ErrKeyInFlight.
func KeyInFlight() error {
	return &Error{Kind: ErrConflict, Message: ErrKeyInFlight.Error(), Err: ErrKeyInFlight}
}

// ValidateIdempotencyRecord checks what Claim stores: an org, an API key,
// and a 32-byte hash and fingerprint.
func ValidateIdempotencyRecord(rec IdempotencyRecord) error {
	switch {
	case rec.OrgID == uuid.Nil:
		return Invalid("org_id", "is required")
	case rec.APIKeyID == uuid.Nil:
		return Invalid("api_key_id", "is required")
	case len(rec.Hash) != 32:
		return Invalid("key_hash", "must be 32 bytes (a SHA-256)")
	case len(rec.Fingerprint) != 32:
		return Invalid("fingerprint", "must be 32 bytes (a SHA-256)")
	}
	return nil
}

// NotInTx returns the ErrInternal error of an IdempotencyKeys method that
// must run in a transaction (Claim, Complete) called outside one.
func NotInTx(method string) error {
	return &Error{Kind: ErrInternal, Message: "IdempotencyKeys." + method + " must run in a transaction"}
}
