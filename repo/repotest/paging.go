package repotest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// rows is one keyset-paginated list seen through the keys of its rows: the
// string its cursors resume after (an ID, a role name, a sequence number).
type rows struct {
	// add makes row i in tx and returns its key.
	add func(tx repo.Store, i int) (string, error)
	// settle, when set, turns the keys add returned into the list's keys,
	// once the rows' transaction committed: audit events are keyed by the
	// sequence numbers sealing gives them, which add may not know.
	settle func(keys []string) []string
	// list returns one page of keys.
	list lister[string]
	// remove makes the row with key disappear from the list; nil when rows
	// cannot leave this list.
	remove func(key string) error
	// cmp orders keys as the list does.
	cmp func(a, b string) int
}

// listKind describes one List method for the paging cases.
type listKind struct {
	label  string // in case names, e.g. "AuditEventsDescending"
	name   string // in cursors, e.g. "audit_events"
	other  string // another list, whose cursors this one must refuse
	badKey string // a cursor key this list cannot parse; "" if any key is valid
	setup  func(e *env) *rows
}

// keyed turns a page of rows into a page of their keys.
func keyed[T any](key func(T) string) func(repo.Page[T], error) (repo.Page[string], error) {
	return func(p repo.Page[T], err error) (repo.Page[string], error) {
		out := repo.Page[string]{Next: p.Next}
		if p.Items != nil {
			out.Items = make([]string, len(p.Items))
		}
		for i, r := range p.Items {
			out.Items[i] = key(r)
		}
		return out, err
	}
}

func orgKey(o repo.Org) string             { return o.ID.String() }
func memberKey(m repo.Member) string       { return m.User.ID.String() }
func roleKey(r repo.Role) string           { return r.Name }
func bindingKey(b repo.RoleBinding) string { return b.ID.String() }
func projectKey(p repo.Project) string     { return p.ID.String() }
func apiKeyKey(k repo.APIKey) string       { return k.ID.String() }
func eventKey(ev repo.AuditEvent) string   { return strconv.FormatInt(ev.Seq, 10) }

// bySeq orders audit keys by sequence number.
func bySeq(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return cmp.Compare(x, y)
}

// id parses a key that is a UUID.
func id(key string) uuid.UUID { return uuid.MustParse(key) }

// listKinds lists every paginated List method. Each setup puts a row the
// list must not show next to the rows it must (another org's, a deleted org).
func listKinds() []listKind {
	auditEvents := func(desc bool) func(e *env) *rows {
		return func(e *env) *rows {
			org := e.newOrg()
			e.appendEvent(e.newOrg().ID)
			order := bySeq
			if desc {
				order = func(a, b string) int { return bySeq(b, a) }
			}
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					ev, err := tx.AuditEvents().Append(e.ctx, event(org.ID, func(ev *repo.AuditEvent) { ev.TargetID = fmt.Sprint(i) }), seal)
					return ev.ID.String(), err
				},
				settle: func(ids []string) []string {
					e.sealAll()
					keys := make([]string, len(ids))
					for i, k := range ids {
						keys[i] = eventKey(e.sealed(org.ID, uuid.MustParse(k))[0])
					}
					return keys
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(eventKey)(e.db.AuditEvents().List(e.ctx, org.ID, repo.AuditFilter{Descending: desc}, p))
				},
				cmp: order,
			}
		}
	}
	return []listKind{
		{"Orgs", "orgs", "orgs_for_user", "not-a-uuid", func(e *env) *rows {
			ok(e.t, e.db.Orgs().Delete(e.ctx, e.newOrg().ID))
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					o, err := tx.Orgs().Create(e.ctx, repo.NewOrg{Slug: fmt.Sprintf("page-%d", i), Name: "Paged"})
					return orgKey(o), err
				},
				list:   func(p repo.PageRequest) (repo.Page[string], error) { return keyed(orgKey)(e.db.Orgs().List(e.ctx, p)) },
				remove: func(k string) error { return e.db.Orgs().Delete(e.ctx, id(k)) },
				cmp:    strings.Compare,
			}
		}},
		{"OrgsForUser", "orgs_for_user", "orgs", "not-a-uuid", func(e *env) *rows {
			u := e.newUser()
			e.newOrg()
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					o, err := tx.Orgs().Create(e.ctx, repo.NewOrg{Slug: fmt.Sprintf("page-%d", i), Name: "Paged"})
					if err != nil {
						return "", err
					}
					_, err = tx.Memberships().Add(e.ctx, o.ID, u.ID)
					return orgKey(o), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(orgKey)(e.db.Orgs().ListForUser(e.ctx, u.ID, p))
				},
				remove: func(k string) error { return e.db.Memberships().Remove(e.ctx, id(k), u.ID) },
				cmp:    strings.Compare,
			}
		}},
		{"Members", "members", "projects", "not-a-uuid", func(e *env) *rows {
			org := e.newOrg()
			e.newMember(e.newOrg().ID)
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					u, err := tx.Users().Create(e.ctx, repo.NewUser{Email: fmt.Sprintf("paged%d@example.com", i)})
					if err != nil {
						return "", err
					}
					m, err := tx.Memberships().Add(e.ctx, org.ID, u.ID)
					return memberKey(m), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(memberKey)(e.db.Memberships().List(e.ctx, org.ID, p))
				},
				remove: func(k string) error { return e.db.Memberships().Remove(e.ctx, org.ID, id(k)) },
				cmp:    strings.Compare,
			}
		}},
		{"Roles", "roles", "projects", "", func(e *env) *rows {
			org := e.newOrg()
			e.newRole(e.newOrg().ID)
			return &rows{
				// Names of one width made of digits and letters sort the
				// same under any collation.
				add: func(tx repo.Store, i int) (string, error) {
					r, err := tx.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: fmt.Sprintf("r%06d", i)})
					return roleKey(r), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(roleKey)(e.db.Roles().List(e.ctx, org.ID, p))
				},
				remove: func(k string) error {
					r, err := e.db.Roles().GetByName(e.ctx, org.ID, k)
					if err != nil {
						return err
					}
					return e.db.Roles().Delete(e.ctx, org.ID, r.ID)
				},
				cmp: strings.Compare,
			}
		}},
		{"RoleBindings", "role_bindings", "api_keys", "not-a-uuid", func(e *env) *rows {
			org := e.newOrg()
			u := e.newMember(org.ID)
			other := e.newOrg()
			e.bind(other.ID, e.newMember(other.ID).ID, e.newRole(other.ID).ID, nil)
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					r, err := tx.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: fmt.Sprintf("r%06d", i)})
					if err != nil {
						return "", err
					}
					b, err := tx.RoleBindings().Create(e.ctx, org.ID, repo.NewRoleBinding{UserID: u.ID, RoleID: r.ID})
					return bindingKey(b), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(bindingKey)(e.db.RoleBindings().List(e.ctx, org.ID, p))
				},
				remove: func(k string) error { return e.db.RoleBindings().Delete(e.ctx, org.ID, id(k)) },
				cmp:    strings.Compare,
			}
		}},
		{"Projects", "projects", "role_bindings", "not-a-uuid", func(e *env) *rows {
			org := e.newOrg()
			e.newProject(e.newOrg().ID)
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					p, err := tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: fmt.Sprintf("paged %d", i)})
					return projectKey(p), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(projectKey)(e.db.Projects().List(e.ctx, org.ID, p))
				},
				remove: func(k string) error { return e.db.Projects().Delete(e.ctx, org.ID, id(k)) },
				cmp:    strings.Compare,
			}
		}},
		{"APIKeys", "api_keys", "projects", "not-a-uuid", func(e *env) *rows {
			org := e.newOrg()
			u := e.newMember(org.ID)
			other := e.newOrg()
			e.newKey(other.ID, e.newMember(other.ID).ID)
			return &rows{
				add: func(tx repo.Store, i int) (string, error) {
					k, err := tx.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: fmt.Sprint(i), SecretHash: secret(fmt.Sprint(i))})
					return apiKeyKey(k), err
				},
				list: func(p repo.PageRequest) (repo.Page[string], error) {
					return keyed(apiKeyKey)(e.db.APIKeys().List(e.ctx, org.ID, p))
				},
				cmp: strings.Compare,
			}
		}},
		{"AuditEvents", "audit_events", "projects", "abc", auditEvents(false)},
		{"AuditEventsDescending", "audit_events", "projects", "abc", auditEvents(true)},
	}
}

// fill adds count rows in one transaction and returns their keys.
func (e *env) fill(r *rows, count int) []string {
	e.t.Helper()
	var keys []string
	ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
		keys = keys[:0]
		for range count {
			k, err := r.add(tx, int(e.next()))
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return nil
	}))
	if r.settle != nil {
		keys = r.settle(keys)
	}
	return keys
}

// pageSizes returns the number of items on each page.
func pageSizes(ps []repo.Page[string]) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = len(p.Items)
	}
	return out
}

// flatten returns the items of all pages in order.
func flatten(ps []repo.Page[string]) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Items...)
	}
	return out
}

// walkCheck fills count rows and walks the list with limit, expecting the
// given page sizes and every row once, in order.
func walkCheck(e *env, r *rows, count, limit int, sizes ...int) {
	e.t.Helper()
	want := e.fill(r, count)
	slices.SortFunc(want, r.cmp)
	ps := pages(e.t, limit, r.list)
	same(e.t, "page sizes", pageSizes(ps), sizes)
	same(e.t, "rows", flatten(ps), want)
}

func pagingCases() []testCase {
	var cs []testCase
	for _, k := range listKinds() {
		add := func(name string, run func(e *env, r *rows)) {
			cs = append(cs, testCase{"Paging/" + k.label + "/" + name, func(e *env) { run(e, k.setup(e)) }})
		}
		add("Walk", func(e *env, r *rows) { walkCheck(e, r, 7, 3, 3, 3, 1) })
		add("ExactPages", func(e *env, r *rows) { walkCheck(e, r, 6, 3, 3, 3) })
		add("Empty", func(e *env, r *rows) {
			p := must(r.list(repo.PageRequest{})).of(e.t)
			if p.Items == nil || len(p.Items) != 0 || p.Next != "" {
				e.t.Errorf("empty list = %#v, want empty non-nil Items and no Next", p)
			}
		})
		add("DefaultLimit", func(e *env, r *rows) {
			walkCheck(e, r, repo.DefaultPageSize+1, 0, repo.DefaultPageSize, 1)
		})
		add("MaxLimit", func(e *env, r *rows) {
			walkCheck(e, r, repo.MaxPageSize+1, 10*repo.MaxPageSize, repo.MaxPageSize, 1)
			same(e.t, "page sizes with Limit MaxPageSize+1", pageSizes(pages(e.t, repo.MaxPageSize+1, r.list)), []int{repo.MaxPageSize, 1})
		})
		add("NegativeLimit", func(e *env, r *rows) {
			e.fill(r, 2)
			for _, limit := range []int{-1, -repo.MaxPageSize - 1} {
				_, err := r.list(repo.PageRequest{Limit: limit})
				wantInvalid(e.t, err, "limit")
			}
		})
		add("BadCursor", func(e *env, r *rows) {
			keys := e.fill(r, 3)
			bad := map[string]string{
				"not base64":     "%%%not-a-cursor%%%",
				"not a cursor":   base64.RawURLEncoding.EncodeToString([]byte("hello")),
				"other version":  base64.RawURLEncoding.EncodeToString([]byte("v0|" + k.name + "|" + keys[0])),
				"empty key":      repo.EncodeCursor(k.name, ""),
				"truncated":      repo.EncodeCursor(k.name, keys[0])[:5],
				"key and suffix": repo.EncodeCursor(k.name, keys[0]) + "!",
			}
			if k.badKey != "" {
				bad["unparsable key"] = repo.EncodeCursor(k.name, k.badKey)
			}
			for what, cursor := range bad {
				_, err := r.list(repo.PageRequest{Limit: 2, Cursor: cursor})
				if !errorsIsInvalidCursor(err) {
					e.t.Errorf("cursor %s (%q): %v, want ErrInvalid naming cursor", what, cursor, err)
				}
			}
		})
		add("ForeignCursor", func(e *env, r *rows) {
			keys := e.fill(r, 3)
			slices.SortFunc(keys, r.cmp)
			// The cursor another list would hand out after the same key.
			_, err := r.list(repo.PageRequest{Limit: 2, Cursor: repo.EncodeCursor(k.other, keys[0])})
			wantInvalid(e.t, err, "cursor")
			// The list's own cursor for that key works.
			p := must(r.list(repo.PageRequest{Limit: 2, Cursor: repo.EncodeCursor(k.name, keys[0])})).of(e.t)
			same(e.t, "page after the first key", p.Items, keys[1:])
		})
		add("Stability", func(e *env, r *rows) { stability(e, r) })
	}
	return cs
}

// errorsIsInvalidCursor reports whether err is ErrInvalid naming "cursor".
func errorsIsInvalidCursor(err error) bool {
	return repo.KindOf(err) == repo.ErrInvalid && repo.FieldOf(err) == "cursor"
}

// stability walks a list in pages of 3 while rows are added and removed
// between the pages: no row may show twice or out of order, every row that
// existed throughout must show, and none removed before its page came.
func stability(e *env, r *rows) {
	e.t.Helper()
	orig := e.fill(r, 9)
	slices.SortFunc(orig, r.cmp)
	gone := map[string]bool{} // removed before the walk reached them
	var got []string
	cursor := ""
	for page := 1; ; page++ {
		if page > 20 {
			e.t.Fatalf("the walk does not end: %v", got)
		}
		p := must(r.list(repo.PageRequest{Limit: 3, Cursor: cursor})).of(e.t)
		got = append(got, p.Items...)
		switch page {
		case 1: // seen: orig[0:3]
			e.fill(r, 3)
			if r.remove != nil {
				// The row the cursor names, another seen row, an unseen one.
				for _, k := range []string{orig[2], orig[0], orig[5]} {
					ok(e.t, r.remove(k))
				}
				gone[orig[5]] = true
			}
		case 2:
			e.fill(r, 2)
			if r.remove != nil {
				ok(e.t, r.remove(orig[7]))
				gone[orig[7]] = true
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	seen := map[string]int{}
	for i, k := range got {
		seen[k]++
		if seen[k] == 2 {
			e.t.Errorf("row %s shows twice", k)
		}
		if i > 0 && r.cmp(got[i-1], k) >= 0 {
			e.t.Errorf("rows out of order: %s then %s", got[i-1], k)
		}
	}
	for _, k := range orig {
		switch {
		case gone[k] && seen[k] > 0:
			e.t.Errorf("row %s shows after it was removed", k)
		case !gone[k] && seen[k] == 0:
			e.t.Errorf("row %s, there all along, does not show", k)
		}
	}
}
