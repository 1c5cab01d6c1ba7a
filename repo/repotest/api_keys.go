package repotest

import (
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

func apiKeyCases() []testCase {
	return []testCase{
		{"APIKeys/Create", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			c := clock()
			k := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: "CI deploy ✓", SecretHash: secret("s3cret")})).of(e.t)
			if k.ID == uuid.Nil || k.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", k.ID)
			}
			c.check(e.t, "CreatedAt", k.CreatedAt)
			same(e.t, "Create", k, repo.APIKey{ID: k.ID, OrgID: org.ID, UserID: u.ID, Name: "CI deploy ✓", SecretHash: secret("s3cret"), CreatedAt: k.CreatedAt})
			same(e.t, "Lookup", must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t), k)
			same(e.t, "List", e.keys(org.ID), []repo.APIKey{k})
			if !k.Usable(repo.Now()) {
				e.t.Errorf("a new key without expiry is not Usable")
			}
		}},
		{"APIKeys/CreateWithExpiry", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			exp := repo.Now().Add(time.Hour)
			k := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: "temp", SecretHash: secret("t"), ExpiresAt: &exp})).of(e.t)
			same(e.t, "Create", k, repo.APIKey{ID: k.ID, OrgID: org.ID, UserID: u.ID, Name: "temp", SecretHash: secret("t"), CreatedAt: k.CreatedAt, ExpiresAt: &exp})
			got := must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t)
			same(e.t, "Lookup", got, k)
			for _, c := range []struct {
				at   time.Time
				want bool
			}{{exp.Add(-time.Microsecond), true}, {exp, false}, {exp.Add(time.Second), false}} {
				if got.Usable(c.at) != c.want {
					e.t.Errorf("Usable(%v) with ExpiresAt %v = %v, want %v", c.at, *got.ExpiresAt, !c.want, c.want)
				}
			}
			// An already expired key can be stored; it is not usable.
			past := repo.Now().Add(-time.Hour)
			old := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: "old", SecretHash: secret("o"), ExpiresAt: &past})).of(e.t)
			if must(e.db.APIKeys().Lookup(e.ctx, old.ID)).of(e.t).Usable(repo.Now()) {
				e.t.Errorf("an expired key is Usable")
			}
		}},
		{"APIKeys/ExpiryNormalized", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			zone := time.FixedZone("UTC+5:30", 5*3600+1800)
			exp := time.Date(2031, 7, 8, 9, 10, 11, 123456789, zone)
			k := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: "tz", SecretHash: secret("z"), ExpiresAt: &exp})).of(e.t)
			want := repo.Timestamp(exp)
			same(e.t, "Create ExpiresAt", k.ExpiresAt, &want)
			same(e.t, "Lookup ExpiresAt", must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t).ExpiresAt, &want)
		}},
		{"APIKeys/CreateNonMember", func(e *env) {
			org := e.newOrg()
			for _, user := range []uuid.UUID{e.newUser().ID, repo.NewID()} {
				notFound(e.t, second(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: user, Name: "k", SecretHash: secret("k")})))
			}
			notFound(e.t, second(e.db.APIKeys().Create(e.ctx, repo.NewID(), repo.NewAPIKey{UserID: e.newUser().ID, Name: "k", SecretHash: secret("k")})))
			same(e.t, "List", e.keys(org.ID), []repo.APIKey{})
		}},
		{"APIKeys/LookupUnknown", func(e *env) {
			org := e.newOrg()
			e.newKey(org.ID, e.newMember(org.ID).ID)
			notFound(e.t, second(e.db.APIKeys().Lookup(e.ctx, repo.NewID())))
		}},
		{"APIKeys/Revoke", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			k, keep := e.newKey(org.ID, u.ID), e.newKey(org.ID, u.ID)
			c := clock()
			ok(e.t, e.db.APIKeys().Revoke(e.ctx, org.ID, k.ID))
			got := must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t)
			if got.RevokedAt == nil {
				e.t.Fatalf("RevokedAt is nil after Revoke")
			}
			c.check(e.t, "RevokedAt", *got.RevokedAt)
			want := k
			want.RevokedAt = got.RevokedAt
			same(e.t, "Lookup", got, want)
			if got.Usable(repo.Now()) {
				e.t.Errorf("a revoked key is Usable")
			}
			same(e.t, "List", e.keys(org.ID), []repo.APIKey{want, keep})
			notFound(e.t, e.db.APIKeys().Revoke(e.ctx, org.ID, k.ID))
			same(e.t, "Lookup after second Revoke", must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t), want)
		}},
		{"APIKeys/RevokeUnknown", func(e *env) {
			org := e.newOrg()
			k := e.newKey(org.ID, e.newMember(org.ID).ID)
			notFound(e.t, e.db.APIKeys().Revoke(e.ctx, org.ID, repo.NewID()),
				e.db.APIKeys().Revoke(e.ctx, org.ID, uuid.Nil))
			same(e.t, "List", e.keys(org.ID), []repo.APIKey{k})
		}},
	}
}
