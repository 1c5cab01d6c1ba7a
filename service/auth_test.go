package service_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// keyFormat is the documented form of an API key.
var keyFormat = regexp.MustCompile(`^strata_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$`)

// secretHash is what the store keeps of a key's secret.
func secretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func TestAuthenticate(t *testing.T) {
	secret := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	other := base64.RawURLEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	key := func(f *fixture, secret string) string { return "strata_" + hex.EncodeToString(f.key[:]) + "_" + secret }
	denied := repo.ErrUnauthenticated

	cases := []struct {
		name string
		key  func(f *fixture) string // the presented key; nil for the valid one
		// lookup is what Credential returns: the stored key and its user,
		// edited, or an error; nil when the store must not be asked at all.
		lookup func(f *fixture, c *repo.Credential) error
		want   error
	}{
		{name: "valid", lookup: keep},
		{name: "expiring later", lookup: func(f *fixture, c *repo.Credential) error {
			c.Key.ExpiresAt = ptr(f.now.Add(time.Nanosecond))
			return nil
		}},
		{name: "empty", key: func(*fixture) string { return "" }, want: denied},
		{name: "no prefix", key: func(f *fixture) string { return strings.TrimPrefix(key(f, secret), "strata_") }, want: denied},
		{name: "other prefix", key: func(f *fixture) string { return "strato" + strings.TrimPrefix(key(f, secret), "strata") }, want: denied},
		{name: "no separator", key: func(f *fixture) string { return "strata_" + hex.EncodeToString(f.key[:]) + secret }, want: denied},
		{name: "short ID", key: func(f *fixture) string { return "strata_" + hex.EncodeToString(f.key[1:]) + "_" + secret }, want: denied},
		{name: "ID not hex", key: func(*fixture) string { return "strata_" + strings.Repeat("zz", 16) + "_" + secret }, want: denied},
		{name: "short secret", key: func(f *fixture) string { return key(f, secret[1:]) }, want: denied},
		{name: "long secret", key: func(f *fixture) string { return key(f, secret+"A") }, want: denied},
		// Unknown, or gone with its membership or its org.
		{name: "unknown key", lookup: func(*fixture, *repo.Credential) error { return repo.NotFound("api key") }, want: denied},
		{name: "wrong secret", key: func(f *fixture) string { return key(f, other) }, lookup: keep, want: denied},
		{name: "no stored hash", lookup: func(_ *fixture, c *repo.Credential) error { c.Key.SecretHash = nil; return nil }, want: denied},
		{name: "revoked", lookup: func(f *fixture, c *repo.Credential) error { c.Key.RevokedAt = ptr(f.now.Add(-time.Hour)); return nil }, want: denied},
		{name: "expired", lookup: func(f *fixture, c *repo.Credential) error { c.Key.ExpiresAt = ptr(f.now); return nil }, want: denied},
		{name: "suspended", lookup: func(_ *fixture, c *repo.Credential) error { c.UserStatus = repo.UserSuspended; return nil }, want: denied},
		{name: "lookup fails", lookup: func(*fixture, *repo.Credential) error { return errUnavailable }, want: errUnavailable},
	}
	var message string // every refusal says the same
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			presented := key(f, secret)
			if c.key != nil {
				presented = c.key(f)
			}
			if c.lookup != nil {
				cred := repo.Credential{
					Key:        repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: f.p.UserID, Name: "ci", SecretHash: secretHash(secret)},
					UserStatus: repo.UserActive, PolicyVersion: f.org.PolicyVersion,
				}
				err := c.lookup(f, &cred)
				ret(f.db.keys.EXPECT().Credential(anything, f.key), cred, err)
			}
			p, err := f.svc.Authenticate(f.ctx, presented, f.p.Request)
			switch {
			case c.want == nil && err != nil:
				t.Fatal(err)
			case c.want == nil:
				if want := f.keyPrincipal(); p != want {
					t.Errorf("principal = %+v, want %+v", p, want)
				}
			case errors.Is(c.want, repo.ErrUnauthenticated):
				if !errors.Is(err, repo.ErrUnauthenticated) || p != (service.Principal{}) {
					t.Fatalf("Authenticate = %+v, %v; want ErrUnauthenticated", p, err)
				}
				if message == "" {
					message = err.Error()
				}
				if err.Error() != message {
					t.Errorf("message %q, other refusals say %q", err, message)
				}
			default:
				checkErr(t, err, c.want)
			}
		})
	}
}

func keep(*fixture, *repo.Credential) error { return nil }

// keyPrincipal is the caller acting through key f.key.
func (f *fixture) keyPrincipal() service.Principal {
	p := f.p
	p.KeyID = f.key
	return p
}

// TestCreatedKeyAuthenticates makes a key and presents it: the secret is
// shown once, in the documented form, and only its hash is stored.
func TestCreatedKeyAuthenticates(t *testing.T) {
	f := newFixture(t)
	f.expectCheck(mutation(t, "CreateAPIKey").perm, nil, true).After(f.expectOrg())
	f.expectInTx(f.store, nil)
	var stored repo.APIKey
	f.tx.keys.EXPECT().Create(anything, f.org.ID, anything).DoAndReturn(
		func(_ any, _ any, in repo.NewAPIKey) (repo.APIKey, error) {
			stored = repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: in.UserID, Name: in.Name, SecretHash: in.SecretHash}
			return stored, nil
		})
	f.tx.audit.EXPECT().Append(anything, anything, anything)
	k, err := f.svc.CreateAPIKey(f.ctx, f.p, f.org.Slug, service.NewAPIKey{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	parts := keyFormat.FindStringSubmatch(k.Secret)
	if parts == nil || parts[1] != hex.EncodeToString(f.key[:]) {
		t.Fatalf("key %q, want strata_<%x>_<43 base64url>", k.Secret, f.key[:])
	}
	if string(stored.SecretHash) != string(secretHash(parts[2])) || strings.Contains(string(stored.SecretHash), parts[2]) {
		t.Errorf("stored hash %x is not SHA-256 of the secret", stored.SecretHash)
	}

	f.db.keys.EXPECT().Credential(anything, f.key).Return(repo.Credential{Key: stored, UserStatus: repo.UserActive}, nil)
	p, err := f.svc.Authenticate(f.ctx, k.Secret, f.p.Request)
	if want := f.keyPrincipal(); err != nil || p != want {
		t.Fatalf("Authenticate = %+v, %v; want %+v", p, err, want)
	}
}
