package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

func userCases() []testCase {
	return []testCase{
		{"Users/Create", func(e *env) {
			c := clock()
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: "Alice.Smith+tag@Example.COM", Name: "Alice Smïth"})).of(e.t)
			if u.ID == uuid.Nil || u.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", u.ID)
			}
			c.check(e.t, "CreatedAt", u.CreatedAt)
			c.check(e.t, "UpdatedAt", u.UpdatedAt)
			same(e.t, "Create", u, repo.User{ID: u.ID, Email: "Alice.Smith+tag@Example.COM", Name: "Alice Smïth",
				Status: repo.UserActive, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
			same(e.t, "Get", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), u)
			same(e.t, "GetByEmail", must(e.db.Users().GetByEmail(e.ctx, u.Email)).of(e.t), u)
		}},
		{"Users/CreateWithoutName", func(e *env) {
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: "anon@example.com"})).of(e.t)
			if u.Name != "" {
				e.t.Errorf("Name = %q, want empty", u.Name)
			}
			same(e.t, "Get", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), u)
		}},
		{"Users/GetByEmailIgnoresCase", func(e *env) {
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: "A@x.io", Name: "A"})).of(e.t)
			for _, email := range []string{"a@x.io", "a@X.io", "A@X.IO"} {
				same(e.t, "GetByEmail("+email+")", must(e.db.Users().GetByEmail(e.ctx, email)).of(e.t), u)
			}
		}},
		{"Users/CreateDuplicateEmail", func(e *env) {
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: "a@x.io", Name: "First"})).of(e.t)
			_, err := e.db.Users().Create(e.ctx, repo.NewUser{Email: "a@x.io", Name: "Second"})
			wantConflict(e.t, err, "email")
			same(e.t, "GetByEmail", must(e.db.Users().GetByEmail(e.ctx, "a@x.io")).of(e.t), u)
		}},
		{"Users/CreateDuplicateEmailOtherCase", func(e *env) {
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: "A@x.io", Name: "First"})).of(e.t)
			_, err := e.db.Users().Create(e.ctx, repo.NewUser{Email: "a@X.io", Name: "Second"})
			wantConflict(e.t, err, "email")
			same(e.t, "GetByEmail", must(e.db.Users().GetByEmail(e.ctx, "a@X.io")).of(e.t), u)
		}},
		{"Users/GetUnknown", func(e *env) {
			e.newUser()
			notFound(e.t, second(e.db.Users().Get(e.ctx, repo.NewID())),
				second(e.db.Users().GetByEmail(e.ctx, "nobody@example.com")))
		}},
		{"Users/UpdateName", func(e *env) {
			u := e.newUser()
			c := clock()
			got := must(e.db.Users().Update(e.ctx, u.ID, repo.UserUpdate{Name: ptr("Renamed")})).of(e.t)
			c.check(e.t, "UpdatedAt", got.UpdatedAt)
			want := u
			want.Name, want.UpdatedAt = "Renamed", got.UpdatedAt
			same(e.t, "Update", got, want)
			same(e.t, "Get", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), want)
			got = must(e.db.Users().Update(e.ctx, u.ID, repo.UserUpdate{Name: ptr("")})).of(e.t)
			want.Name, want.UpdatedAt = "", got.UpdatedAt
			same(e.t, "Update to no name", got, want)
		}},
		{"Users/UpdateStatus", func(e *env) {
			u, other := e.newUser(), e.newUser()
			got := must(e.db.Users().Update(e.ctx, u.ID, repo.UserUpdate{Status: ptr(repo.UserSuspended)})).of(e.t)
			want := u
			want.Status, want.UpdatedAt = repo.UserSuspended, got.UpdatedAt
			same(e.t, "suspend", got, want)
			same(e.t, "Get suspended", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), want)
			got = must(e.db.Users().Update(e.ctx, u.ID, repo.UserUpdate{Status: ptr(repo.UserActive)})).of(e.t)
			want.Status, want.UpdatedAt = repo.UserActive, got.UpdatedAt
			same(e.t, "reactivate", got, want)
			same(e.t, "Get reactivated", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), want)
			same(e.t, "other user", must(e.db.Users().Get(e.ctx, other.ID)).of(e.t), other)
		}},
		{"Users/UpdateUnknown", func(e *env) {
			notFound(e.t, second(e.db.Users().Update(e.ctx, repo.NewID(), repo.UserUpdate{Name: ptr("x")})))
		}},
	}
}
