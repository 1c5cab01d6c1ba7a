package service_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// errorKinds is one error of each kind of the vocabulary.
var errorKinds = []struct {
	name string
	err  error
}{
	{"not found", repo.NotFound("thing")},
	{"conflict", repo.Conflict("already there")},
	{"invalid", repo.Invalid("name", "is too long")},
	{"forbidden", repo.Forbidden("no")},
	{"unauthenticated", repo.Unauthenticated("who are you")},
	{"unavailable", errUnavailable},
	{"internal", errors.New("disk on fire")},
}

var errUnavailable = &repo.Error{Kind: repo.ErrUnavailable, Message: "database unreachable"}

// checkErr fails t unless got is want, or wraps it, with want's kind and field.
func checkErr(t *testing.T, got, want error) {
	t.Helper()
	if !errors.Is(got, want) || repo.KindOf(got) != repo.KindOf(want) || repo.FieldOf(got) != repo.FieldOf(want) {
		t.Errorf("err = %v (kind %v, field %q), want %v (kind %v, field %q)",
			got, repo.KindOf(got), repo.FieldOf(got), want, repo.KindOf(want), repo.FieldOf(want))
	}
}

// expectMutation expects m to succeed: the org lookup and the check, then
// one transaction running the body, the policy bump (at version 7) when m
// changes policy, and one success event; Invalidate after the commit. It
// returns the bump (nil unless m changes policy).
func (f *fixture) expectMutation(m op) (bump *gomock.Call) {
	check := f.expectCheck(m.perm, m.scope(f), true).After(f.expectOrg())
	f.expectInTx(f.store, nil).After(check)
	c := m.body(f, nil)
	target := c.target
	if target == "" {
		target = m.target(f)
	}
	appended := f.expectAppend(event{action: m.action, targetType: m.targetType, targetID: target,
		outcome: repo.OutcomeSuccess, meta: f.successMeta(c.before, c.after)}).After(c.write)
	if m.policy {
		bump = f.expectBump(7)
		appended.After(bump)
		f.expectInvalidate(7)
	}
	return bump
}

func TestMutationCommitsOneEvent(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectMutation(m)
			if err := m.call(f); err != nil {
				t.Fatal(err)
			}
			if f.committed != 1 {
				t.Errorf("%d transactions committed, want 1", f.committed)
			}
		})
	}
}

// TestPolicyVersionBumpedFirst checks the order rbac.BumpVersion documents:
// first in the transaction, so that the row lock it takes on the org
// serializes the policy changes of one org before any guard reads.
func TestPolicyVersionBumpedFirst(t *testing.T) {
	for _, m := range mutations {
		if !m.policy {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t)
			bump := f.expectMutation(m)
			bump.Do(func(any, any) {
				if i := slices.IndexFunc(f.txTouched, func(r string) bool { return r != "orgs" }); i >= 0 {
					t.Errorf("the transaction used %v before bumping the policy version", f.txTouched[:len(f.txTouched)-1])
				}
			})
			if err := m.call(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// expectBumpOf expects m's policy bump, first in its transaction, when m
// changes policy; it rolls back with the transaction.
func (f *fixture) expectBumpOf(m op) {
	if m.policy {
		f.expectBump(7)
	}
}

func TestMutationErrorPropagates(t *testing.T) {
	for _, m := range mutations {
		for _, k := range errorKinds {
			if errors.Is(k.err, repo.ErrForbidden) {
				continue // a refusal inside the transaction is a guard's: TestGuards
			}
			t.Run(m.name+"/"+k.name, func(t *testing.T) {
				f := newFixture(t)
				f.expectCheck(m.perm, m.scope(f), true).After(f.expectOrg())
				f.expectInTx(f.store, nil)
				f.expectBumpOf(m)
				m.body(f, k.err)
				// No Append and no Invalidate: either would fail the test.
				checkErr(t, m.call(f), k.err)
			})
		}
	}
}

// TestTransactionFailure fails each step of a mutation's transaction but
// the body's own: nothing is invalidated, and the error comes back unchanged.
func TestTransactionFailure(t *testing.T) {
	steps := []struct {
		name   string
		policy bool // only for policy changes
		expect func(f *fixture, m op)
	}{
		{"begin", false, func(f *fixture, m op) {
			f.store.EXPECT().InTx(anything, anything).Return(errUnavailable)
		}},
		{"bump", true, func(f *fixture, m op) {
			f.expectInTx(f.store, nil)
			// The bump comes first: the body does not run.
			f.tx.orgs.EXPECT().BumpPolicyVersion(anything, f.org.ID).Return(int64(0), errUnavailable)
		}},
		{"append", false, func(f *fixture, m op) {
			f.expectInTx(f.store, nil)
			f.expectBumpOf(m)
			f.tx.audit.EXPECT().Append(anything, anything, anything).After(m.body(f, nil).write).
				Return(repo.AuditEvent{}, errUnavailable)
		}},
		{"commit", false, func(f *fixture, m op) {
			f.expectInTx(f.store, errUnavailable)
			f.expectBumpOf(m)
			f.tx.audit.EXPECT().Append(anything, anything, anything).After(m.body(f, nil).write)
		}},
	}
	for _, m := range mutations {
		for _, s := range steps {
			if s.policy && !m.policy {
				continue
			}
			t.Run(m.name+"/"+s.name, func(t *testing.T) {
				f := newFixture(t)
				f.expectCheck(m.perm, m.scope(f), true).After(f.expectOrg())
				s.expect(f, m)
				checkErr(t, m.call(f), errUnavailable)
			})
		}
	}
}

// mutation returns the mutation named name.
func mutation(t *testing.T, name string) op {
	t.Helper()
	i := slices.IndexFunc(mutations, func(m op) bool { return m.name == name })
	if i < 0 {
		t.Fatalf("no mutation %q", name)
	}
	return mutations[i]
}

func TestDeniedIsAuditedAndForbidden(t *testing.T) {
	for _, m := range allOps {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t)
			check := f.expectCheck(m.perm, m.scope(f), false).After(f.expectOrg())
			f.expectInTx(f.store, nil).After(check)
			f.expectAppend(event{action: m.action, targetType: m.targetType, targetID: m.target(f), outcome: repo.OutcomeDenied,
				meta: map[string]any{"permission": m.perm, "reason": "no org-wide binding of the user grants the permission"}})
			err := m.call(f)
			if !errors.Is(err, repo.ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			if f.committed != 1 {
				t.Errorf("%d transactions committed, want the denial's own", f.committed)
			}
		})
	}
}

func TestDenialThatCannotBeRecordedFails(t *testing.T) {
	f := newFixture(t)
	f.expectCheck(mutation(t, "CreateProject").perm, nil, false).After(f.expectOrg())
	f.store.EXPECT().InTx(anything, anything).Return(errUnavailable)
	checkErr(t, mutation(t, "CreateProject").call(f), errUnavailable)
}

// TestBeforeAuthorization covers what fails before any check: the org named
// is not the caller's, or cannot be read, or the check itself fails.
func TestBeforeAuthorization(t *testing.T) {
	cases := []struct {
		name   string
		expect func(f *fixture, m op)
		want   error
	}{
		{"another org's slug", func(f *fixture, _ op) {
			f.expectOrg()
			f.p.OrgID = repo.NewID() // a key of another org
		}, repo.ErrNotFound},
		{"unknown slug", func(f *fixture, _ op) {
			f.db.orgs.EXPECT().GetBySlug(anything, f.org.Slug).Return(repo.Org{}, repo.NotFound("org"))
		}, repo.ErrNotFound},
		{"malformed slug", func(f *fixture, _ op) { f.org.Slug = "Not/A-Slug" }, repo.ErrNotFound},
		{"org lookup fails", func(f *fixture, _ op) {
			f.db.orgs.EXPECT().GetBySlug(anything, f.org.Slug).Return(repo.Org{}, errUnavailable)
		}, errUnavailable},
		{"check fails", func(f *fixture, m op) {
			f.authz.EXPECT().Check(anything, f.org.ID, f.p.UserID, m.perm, anything).
				After(f.expectOrg()).Return(rbac.Decision{}, errUnavailable)
		}, errUnavailable},
	}
	for _, c := range cases {
		for _, m := range allOps {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				f := newFixture(t)
				c.expect(f, m)
				// No other expectations: no check, no transaction, no read.
				err := m.call(f)
				if !errors.Is(err, c.want) {
					t.Errorf("err = %v, want %v", err, c.want)
				}
			})
		}
	}
}

// TestReads: a read runs outside any transaction, records nothing, and
// returns its repository's error unchanged.
func TestReads(t *testing.T) {
	for _, m := range reads {
		for _, fail := range []error{nil, repo.NotFound("thing"), errUnavailable} {
			if fail != nil && m.read == nil {
				continue
			}
			outcome := "ok"
			if fail != nil {
				outcome = repo.KindOf(fail).Error()
			}
			t.Run(m.name+"/"+outcome, func(t *testing.T) {
				f := newFixture(t)
				f.expectCheck(m.perm, m.scope(f), true).After(f.expectOrg())
				if m.read != nil {
					m.read(f, fail)
				}
				if err := m.call(f); fail == nil && err != nil {
					t.Fatal(err)
				} else if fail != nil {
					checkErr(t, err, fail)
				}
			})
		}
	}
}

// TestIdempotentMutationClaimsFirstStoresLast checks where a mutation under
// an idempotency key touches the key: claimed first in its transaction
// (before the policy bump, so a replay changes nothing), and its result
// stored after the audit event, in the same transaction.
func TestIdempotentMutationClaimsFirstStoresLast(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.IdempotencyKey, f.p.Fingerprint = "k", sha256.Sum256([]byte(m.name))
			f.expectMutation(m)
			claim := f.tx.idem.EXPECT().Claim(anything, anything, anything).DoAndReturn(
				func(_ context.Context, rec repo.IdempotencyRecord, _ time.Time) (repo.IdempotencyRecord, bool, error) {
					if len(f.txTouched) != 1 {
						t.Errorf("the transaction used %v before claiming the key", f.txTouched[:len(f.txTouched)-1])
					}
					if rec.OrgID != f.org.ID || rec.APIKeyID != f.p.KeyID {
						t.Errorf("claimed for org %v, API key %v; want the caller's", rec.OrgID, rec.APIKeyID)
					}
					return rec, true, nil
				})
			f.tx.idem.EXPECT().Complete(anything, anything, anything).After(claim).Do(func(context.Context, repo.IdempotencyKey, []byte) {
				if len(f.appended) != 1 {
					t.Errorf("the result was stored with %d events appended, want after the one", len(f.appended))
				}
			})
			if err := m.call(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestIdempotentReplayChangesNothing replays a stored result: the
// transaction claims the key, finds the result and does nothing else (no
// change, no event, no policy bump); a request with another fingerprint
// is refused.
func TestIdempotentReplayChangesNothing(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			// A first run stores the result.
			f := newFixture(t)
			f.p.IdempotencyKey, f.p.Fingerprint = "k", sha256.Sum256([]byte(m.name))
			f.expectMutation(m)
			var stored repo.IdempotencyRecord
			f.tx.idem.EXPECT().Claim(anything, anything, anything).DoAndReturn(
				func(_ context.Context, rec repo.IdempotencyRecord, _ time.Time) (repo.IdempotencyRecord, bool, error) {
					stored = rec
					return rec, true, nil
				})
			f.tx.idem.EXPECT().Complete(anything, anything, anything).Do(func(_ context.Context, _ repo.IdempotencyKey, result []byte) {
				stored.Result = result
			})
			if err := m.call(f); err != nil {
				t.Fatal(err)
			}
			// The retry: the same key and fingerprint, by the same caller.
			retry := newFixture(t)
			retry.org, retry.p = f.org, f.p
			check := retry.expectCheck(m.perm, m.scope(retry), true).After(retry.expectOrg())
			retry.expectInTx(retry.store, nil).After(check)
			retry.tx.idem.EXPECT().Claim(anything, anything, anything).Return(stored, false, nil)
			if err := m.call(retry); err != nil {
				t.Fatalf("replay: %v", err)
			}
			// Another request under the key.
			other := newFixture(t)
			other.org, other.p = f.org, f.p
			other.p.Fingerprint[0] ^= 1
			check = other.expectCheck(m.perm, m.scope(other), true).After(other.expectOrg())
			other.store.EXPECT().InTx(anything, anything).DoAndReturn(func(_ context.Context, fn func(repo.Store) error) error {
				return fn(other.txStore)
			}).After(check)
			other.tx.idem.EXPECT().Claim(anything, anything, anything).Return(stored, false, nil)
			if err := m.call(other); !errors.Is(err, service.ErrKeyReused) {
				t.Errorf("another request under the key: %v, want ErrKeyReused", err)
			}
		})
	}
}
