package repotest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// env is what one case works with: its test, context and database.
type env struct {
	t   *testing.T
	ctx context.Context
	db  repo.DB
	h   Harness
	n   atomic.Int64 // numbers the rows the fixtures make
}

// next returns a number unique within the case.
func (e *env) next() int64 { return e.n.Add(1) }

// result is the outcome of a call that must succeed: must(call()).of(t).
type result[T any] struct {
	v   T
	err error
}

// must holds the results of a call for of.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

// of fails the test if the call failed and otherwise returns its value.
func (r result[T]) of(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

// ok fails the test on err.
func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantKind checks that err matches kind, and no other kind of the vocabulary.
func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("got error %q (kind %v), want kind %v", err, repo.KindOf(err), kind)
	}
	for _, k := range []error{repo.ErrNotFound, repo.ErrConflict, repo.ErrInvalid, repo.ErrForbidden,
		repo.ErrUnauthenticated, repo.ErrUnavailable, repo.ErrInternal} {
		if k != kind && errors.Is(err, k) {
			t.Errorf("error %q matches %v as well as %v", err, k, kind)
		}
	}
}

// notFound checks that every one of errs is ErrNotFound.
func notFound(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		wantKind(t, err, repo.ErrNotFound)
	}
}

// wantInvalid checks that err is ErrInvalid naming field.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	wantField(t, err, repo.ErrInvalid, field)
}

// wantConflict checks that err is ErrConflict naming field, the input
// field that made the unique key it violates ("" when none does alone).
func wantConflict(t testing.TB, err error, field string) {
	t.Helper()
	wantField(t, err, repo.ErrConflict, field)
}

// wantField checks that err is of kind and names field.
func wantField(t testing.TB, err, kind error, field string) {
	t.Helper()
	wantKind(t, err, kind)
	if got := repo.FieldOf(err); got != field {
		t.Fatalf("error %q names field %q, want %q", err, got, field)
	}
}

// same checks that got equals want field by field, comparing times with
// time.Equal, and that every time on either side is UTC and truncated to the
// microsecond, as repositories return them.
func same(t testing.TB, what string, got, want any) {
	t.Helper()
	var d []string
	diff(&d, what, reflect.ValueOf(got), reflect.ValueOf(want))
	if len(d) > 0 {
		t.Errorf("%d difference(s):\n\t%s", len(d), strings.Join(d, "\n\t"))
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff appends to d a line for each difference between g and w, at path.
func diff(d *[]string, path string, g, w reflect.Value) {
	if len(*d) >= 20 {
		return
	}
	if !g.IsValid() || !w.IsValid() {
		if g.IsValid() != w.IsValid() {
			*d = append(*d, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
		return
	}
	if g.Type() != w.Type() {
		*d = append(*d, fmt.Sprintf("%s: got type %v, want %v", path, g.Type(), w.Type()))
		return
	}
	if g.Type() == timeType {
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			*d = append(*d, fmt.Sprintf("%s: got %v, want %v", path, gt, wt))
		}
		for _, tm := range []time.Time{gt, wt} {
			if tm.Location() != time.UTC || !tm.Equal(tm.Truncate(time.Microsecond)) {
				*d = append(*d, fmt.Sprintf("%s: time %v is not UTC truncated to the microsecond", path, tm))
			}
		}
		return
	}
	switch g.Kind() {
	case reflect.Pointer, reflect.Interface:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				*d = append(*d, fmt.Sprintf("%s: got %s, want %s", path, show(g), show(w)))
			}
			return
		}
		diff(d, path, g.Elem(), w.Elem())
	case reflect.Slice:
		if g.Type().Elem().Kind() == reflect.Uint8 {
			if string(g.Bytes()) != string(w.Bytes()) {
				*d = append(*d, fmt.Sprintf("%s: got %x, want %x", path, g.Bytes(), w.Bytes()))
			}
			return
		}
		if g.Len() != w.Len() {
			*d = append(*d, fmt.Sprintf("%s: got %d elements, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range g.Len() {
			diff(d, fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
		}
	case reflect.Struct:
		for i := range g.NumField() {
			if f := g.Type().Field(i); f.IsExported() {
				diff(d, path+"."+f.Name, g.Field(i), w.Field(i))
			}
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*d = append(*d, fmt.Sprintf("%s: got %v, want %v", path, g.Interface(), w.Interface()))
		}
	}
}

// show prints a pointer or interface value for a diff line.
func show(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%v", v.Elem())
}

// stamp records the time before a call, to check the times it sets.
type stamp struct{ before time.Time }

// clock starts a stamp.
func clock() stamp { return stamp{before: repo.Now()} }

// check verifies that tm was set during the call the stamp started before:
// between the stamp and now, and UTC with microsecond precision.
func (s stamp) check(t testing.TB, what string, tm time.Time) {
	t.Helper()
	after := repo.Now()
	if tm.Before(s.before) || tm.After(after) {
		t.Errorf("%s = %v, want between %v and %v", what, tm, s.before, after)
	}
	if tm.Location() != time.UTC || !tm.Equal(tm.Truncate(time.Microsecond)) {
		t.Errorf("%s = %v, want UTC truncated to the microsecond", what, tm)
	}
}

// lister is the shape of every List method once its other arguments are bound.
type lister[T any] func(repo.PageRequest) (repo.Page[T], error)

// pages walks a list with the given limit and returns its pages; it fails
// the test if the walk does not end or a page breaks the Page contract.
func pages[T any](t testing.TB, limit int, list lister[T]) []repo.Page[T] {
	t.Helper()
	var out []repo.Page[T]
	seen := map[string]bool{}
	cursor := ""
	for {
		p, err := list(repo.PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", len(out)+1, err)
		}
		if p.Items == nil {
			t.Errorf("page %d: Items is nil, want an empty slice", len(out)+1)
		}
		out = append(out, p)
		if p.Next == "" {
			return out
		}
		if seen[p.Next] || len(p.Items) == 0 {
			t.Fatalf("page %d: Next %q repeats or follows an empty page", len(out), p.Next)
		}
		seen[p.Next] = true
		cursor = p.Next
	}
}

// all returns every item of a list, walked in the largest pages.
func all[T any](t testing.TB, list lister[T]) []T {
	t.Helper()
	var items []T
	for _, p := range pages(t, repo.MaxPageSize, list) {
		items = append(items, p.Items...)
	}
	return items
}

// secret returns a 32-byte secret hash made from s.
func secret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// zeroHash is the PrevHash of the first event of a chain.
var zeroHash = make([]byte, 32)

// seal is the Sealer of the suite: SHA-256 over the previous hash and every
// field of the event, so a stored event that differs in any field from the
// one sealed no longer matches its hash.
func seal(ev *repo.AuditEvent) []byte {
	h := sha256.New()
	h.Write(ev.PrevHash)
	fmt.Fprintf(h, "%s|%d|%s|%s|%s|%q|%q|%q|%q|%s|%q|%q|%q|%s|%d", ev.OrgID, ev.Seq, ev.ID,
		ev.OccurredAt.Format(time.RFC3339Nano), ev.ActorType, ev.ActorID, ev.Action,
		ev.TargetType, ev.TargetID, ev.Outcome, ev.Metadata, ev.RemoteAddr, ev.RequestID, ev.APIKeyID, ev.Format)
	return h.Sum(nil)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// Fixtures. Each makes one row through the repositories and fails the test
// if that does not work.

// newOrg creates an org with a unique slug.
func (e *env) newOrg() repo.Org {
	e.t.Helper()
	n := e.next()
	return must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: fmt.Sprintf("org-%d", n), Name: fmt.Sprintf("Org %d", n)})).of(e.t)
}

// newUser creates a user with a unique email.
func (e *env) newUser() repo.User {
	e.t.Helper()
	n := e.next()
	return must(e.db.Users().Create(e.ctx, repo.NewUser{Email: fmt.Sprintf("user%d@example.com", n), Name: fmt.Sprintf("User %d", n)})).of(e.t)
}

// newMember creates a user and makes them a member of org.
func (e *env) newMember(org uuid.UUID) repo.User {
	e.t.Helper()
	u := e.newUser()
	must(e.db.Memberships().Add(e.ctx, org, u.ID)).of(e.t)
	return u
}

// newRole creates a custom role with a unique name.
func (e *env) newRole(org uuid.UUID, perms ...string) repo.Role {
	e.t.Helper()
	return e.role(org, fmt.Sprintf("role%d", e.next()), false, perms...)
}

// role creates a role.
func (e *env) role(org uuid.UUID, name string, builtin bool, perms ...string) repo.Role {
	e.t.Helper()
	return must(e.db.Roles().Create(e.ctx, org, repo.NewRole{Name: name, Builtin: builtin, Permissions: perms})).of(e.t)
}

// newProject creates a project with a unique name.
func (e *env) newProject(org uuid.UUID) repo.Project {
	e.t.Helper()
	n := e.next()
	return must(e.db.Projects().Create(e.ctx, org, repo.NewProject{Name: fmt.Sprintf("project %d", n), Description: "about " + fmt.Sprint(n)})).of(e.t)
}

// bind binds role to user, on project if it is not nil.
func (e *env) bind(org, user, role uuid.UUID, project *uuid.UUID) repo.RoleBinding {
	e.t.Helper()
	return must(e.db.RoleBindings().Create(e.ctx, org, repo.NewRoleBinding{UserID: user, RoleID: role, ProjectID: project})).of(e.t)
}

// newKey creates an API key of user without expiry.
func (e *env) newKey(org, user uuid.UUID) repo.APIKey {
	e.t.Helper()
	n := e.next()
	return must(e.db.APIKeys().Create(e.ctx, org, repo.NewAPIKey{UserID: user, Name: fmt.Sprintf("key %d", n), SecretHash: secret(fmt.Sprint(n))})).of(e.t)
}

// event returns a valid event for org; edit changes it before it is returned.
func event(org uuid.UUID, edit ...func(*repo.AuditEvent)) repo.AuditEvent {
	ev := repo.AuditEvent{OrgID: org, ActorType: repo.ActorUser, ActorID: "alice", Action: "project.create",
		TargetType: "project", TargetID: "p1", Outcome: repo.OutcomeSuccess}
	for _, f := range edit {
		f(&ev)
	}
	return ev
}

// appendEvent appends event(org, edit...) with the suite's sealer, seals
// what is pending, and returns the event as stored.
func (e *env) appendEvent(org uuid.UUID, edit ...func(*repo.AuditEvent)) repo.AuditEvent {
	e.t.Helper()
	ev := must(e.db.AuditEvents().Append(e.ctx, event(org, edit...), seal)).of(e.t)
	e.sealAll()
	return e.sealed(org, ev.ID)[0]
}

// sealAll seals every pending event (SealPending until nothing is left).
func (e *env) sealAll() {
	e.t.Helper()
	for {
		rep := must(e.db.AuditEvents().SealPending(e.ctx, seal)).of(e.t)
		if len(rep.Sealed) == 0 && !rep.More {
			return
		}
	}
}

// sealed returns org's sealed events with the given IDs, in that order.
func (e *env) sealed(org uuid.UUID, ids ...uuid.UUID) []repo.AuditEvent {
	e.t.Helper()
	byID := map[uuid.UUID]repo.AuditEvent{}
	for _, ev := range e.events(org, repo.AuditFilter{}) {
		byID[ev.ID] = ev
	}
	out := make([]repo.AuditEvent, len(ids))
	for i, id := range ids {
		ev, ok := byID[id]
		if !ok {
			e.t.Fatalf("event %v is not in its org's sealed chain", id)
		}
		out[i] = ev
	}
	return out
}
