package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/tracing"
	"github.com/strata-go/strata/repo"
)

// API keys look like strata_<key ID, 32 hex>_<secret, 43 base64url>. The ID
// finds the key; the secret (256 random bits) is checked against its stored
// SHA-256 in constant time. The secret is shown once, when the key is made.
const keyPrefix = "strata_"

// secretBytes is the secret's entropy: 256 bits.
const secretBytes = 32

// NewKey is a freshly made API key: its record and the secret, which is
// shown once and never stored.
type NewKey struct {
	repo.APIKey
	Secret string // the whole key to give the caller: strata_<id>_<secret>
}

// newSecret makes a key's secret and its hash.
func newSecret() (secret string, hash []byte) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:]
}

// parseKey splits a presented key into its ID and secret.
func parseKey(key string) (uuid.UUID, string, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return uuid.Nil, "", false
	}
	idHex, secret, ok := strings.Cut(rest, "_")
	if !ok || len(idHex) != 32 || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return uuid.Nil, "", false
	}
	if strings.ToLower(idHex) != idHex { // one key, one spelling
		return uuid.Nil, "", false
	}
	raw, err := hex.DecodeString(idHex)
	if err != nil {
		return uuid.Nil, "", false
	}
	id, err := uuid.FromBytes(raw)
	return id, secret, err == nil
}

func formatKey(id uuid.UUID, secret string) string {
	return keyPrefix + hex.EncodeToString(id[:]) + "_" + secret
}

// Authenticate turns a presented API key into a Principal. A malformed,
// unknown, revoked or expired key, or one whose owner is no longer an active
// member, is ErrUnauthenticated, all with the same message. Once a key has
// been accepted, accepting it again needs no database round trip while its
// org's policy version is unchanged (see cache.go): the presented secret's
// SHA-256 is compared in constant time with the cached hash, and the expiry
// with the clock.
//
// Under a recording span, Authenticate is a "service.Authenticate" span
// with the key's ID (not its secret) and the outcome.
func (s *Service) Authenticate(ctx context.Context, key string, req Request) (p Principal, err error) {
	ctx, span := tracing.Child(ctx, tracer, "service.Authenticate")
	defer func() { endAuthenticate(span, p, err) }()
	denied := repo.Unauthenticated("invalid or expired API key")
	ctx = security(ctx)
	id, secret, ok := parseKey(key)
	if !ok {
		return Principal{}, denied
	}
	k, ok, err := s.credential(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if !ok || subtle.ConstantTimeCompare(sum[:], k.hash[:]) != 1 || k.expired(s.now()) {
		return Principal{}, denied
	}
	return Principal{OrgID: k.orgID, UserID: k.userID, KeyID: id, Request: req}, nil
}

// endAuthenticate ends Authenticate's span: the key it named and whether
// it was accepted; a refusal is an answer, not a failure of the span.
func endAuthenticate(span trace.Span, p Principal, err error) {
	if span.IsRecording() {
		outcome := "ok"
		switch {
		case errIs(err, repo.ErrUnauthenticated):
			outcome, err = "denied", nil
		case err != nil:
			outcome = "error"
		}
		span.SetAttributes(attribute.String("strata.auth.outcome", outcome))
		if p.KeyID != uuid.Nil {
			span.SetAttributes(attribute.String("strata.api_key.id", p.KeyID.String()))
		}
	}
	tracing.End(span, err)
}

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Name      string
	ExpiresAt *time.Time
	// UserID is the member the key acts as; uuid.Nil means the caller. A key
	// for someone else needs every permission they hold (no escalation by
	// way of their key): it is how an admin hands a new member their first key.
	UserID uuid.UUID
}

// CreateAPIKey makes an API key in the org for the caller or another member
// (apikeys.manage). The returned Secret is the only time the key is shown.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, slug string, in NewAPIKey) (NewKey, error) {
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		return NewKey{}, repo.Invalid("expires_at", "must be in the future")
	}
	var out NewKey
	err := s.mutate(ctx, p, slug, action{name: "api_key.create", perm: rbac.APIKeysManage, targetType: "api_key"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			owner := p.UserID
			if in.UserID != uuid.Nil && in.UserID != owner {
				owner = in.UserID
				if _, err := tx.Memberships().Get(ctx, org.ID, owner); err != nil {
					return change{}, err
				}
				if err := mayActOn(ctx, tx, org.ID, p.UserID, owner); err != nil {
					return change{}, err
				}
			}
			k, err := createKey(ctx, tx, org.ID, owner, in)
			out = k
			return change{targetID: k.ID.String(), after: map[string]any{"name": k.Name, "user_id": k.UserID, "expires_at": k.ExpiresAt}}, err
		})
	return out, err
}

func createKey(ctx context.Context, tx repo.Store, orgID, userID uuid.UUID, in NewAPIKey) (NewKey, error) {
	secret, hash := newSecret()
	k, err := tx.APIKeys().Create(ctx, orgID, repo.NewAPIKey{UserID: userID, Name: in.Name, SecretHash: hash, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return NewKey{}, err
	}
	return NewKey{APIKey: k, Secret: formatKey(k.ID, secret)}, nil
}

// ListAPIKeys lists the org's API keys, never their secrets (apikeys.manage).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal, slug string, page repo.PageRequest) (repo.Page[repo.APIKey], error) {
	org, err := s.read(ctx, p, slug, action{name: "api_key.list", perm: rbac.APIKeysManage})
	if err != nil {
		return repo.Page[repo.APIKey]{}, err
	}
	return s.store.APIKeys().List(ctx, org.ID, page)
}

// RevokeAPIKey revokes one of the org's keys (apikeys.manage; for another
// member's key, the caller must hold everything that member holds). It stops
// working at once on this instance, and on others when they learn the org's
// new policy version: revoking is a policy action, so that the caches of
// authenticated keys, keyed on that version, see it (see cache.go).
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, slug string, id uuid.UUID) error {
	defer s.forget(id, "")
	return s.mutate(ctx, p, slug, action{name: "api_key.revoke", policy: true, perm: rbac.APIKeysManage, targetType: "api_key", targetID: id.String()}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			k, err := tx.APIKeys().Lookup(ctx, id)
			if err != nil {
				return change{}, err
			}
			if k.OrgID != org.ID {
				return change{}, repo.NotFound("api key")
			}
			if err := mayActOn(ctx, tx, org.ID, p.UserID, k.UserID); err != nil {
				return change{}, err
			}
			return change{before: map[string]any{"name": k.Name, "user_id": k.UserID}}, tx.APIKeys().Revoke(ctx, org.ID, id)
		})
}
