package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

// TestBadInputEndToEnd sends what a hostile or broken client sends through
// the real API: every answer is the right 4xx with the JSON error body,
// naming the field where there is one, and none is a 5xx.
func TestBadInputEndToEnd(t *testing.T) {
	w := newWorld(t)
	const o = "/v1/orgs/acme"
	const js = "application/json"
	project := w.project().String()
	owner := w.owner.UserID.String()
	big := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`
	deep := strings.Repeat(`{"name":`, 20000) + `"x"` + strings.Repeat("}", 20000)

	for _, c := range []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		// Size, media type and framing.
		{"over 1 MiB", "POST", o + "/projects", js, big, 413, "too_large", ""},
		{"long but under 1 MiB", "POST", o + "/projects", js, `{"name":"x","description":"` + strings.Repeat("a", 3000) + `"}`, 400, "invalid", "description"},
		{"no content type", "POST", o + "/projects", "", `{"name":"x"}`, 415, "unsupported_media_type", ""},
		{"form body", "POST", o + "/projects", "application/x-www-form-urlencoded", "name=x", 415, "unsupported_media_type", ""},
		{"latin-1", "POST", o + "/projects", js + "; charset=iso-8859-1", `{"name":"x"}`, 415, "unsupported_media_type", ""},
		{"empty body", "POST", o + "/projects", js, "", 400, "invalid", ""},
		{"two objects", "POST", o + "/projects", js, `{"name":"x"}{"name":"y"}`, 400, "invalid", ""},
		{"trailing garbage", "POST", o + "/projects", js, `{"name":"x"} DROP TABLE projects`, 400, "invalid", ""},
		{"array", "POST", o + "/projects", js, `[{"name":"x"}]`, 400, "invalid", ""},
		{"null", "POST", o + "/projects", js, `null`, 400, "invalid", ""},
		{"truncated", "POST", o + "/projects", js, `{"name":"x`, 400, "invalid", ""},
		{"deeply nested", "POST", o + "/projects", js, deep, 400, "invalid", ""},

		// Unknown fields, in any case, and wrong types.
		{"unknown field", "POST", o + "/projects", js, `{"name":"x","owner_id":"` + owner + `"}`, 400, "invalid", "owner_id"},
		{"field in the wrong case", "POST", o + "/projects", js, `{"NAME":"x"}`, 400, "invalid", "NAME"},
		{"org id smuggled in", "PATCH", o + "/projects/" + project, js, `{"org_id":"` + uuid.NewString() + `"}`, 400, "invalid", "org_id"},
		{"number for a string", "POST", o + "/projects", js, `{"name":42}`, 400, "invalid", "name"},
		{"object for a string", "PATCH", o, js, `{"name":{"$ne":""}}`, 400, "invalid", "name"},
		{"string for a list", "POST", o + "/roles", js, `{"name":"r","permissions":"*"}`, 400, "invalid", "permissions"},
		{"number in a list", "POST", o + "/roles", js, `{"name":"r","permissions":[1]}`, 400, "invalid", "permissions"},
		{"bool for an id", "POST", o + "/role-bindings", js, `{"user_id":true,"role":"viewer"}`, 400, "invalid", "user_id"},
		{"number for a time", "POST", o + "/api-keys", js, `{"name":"k","expires_at":1893456000}`, 400, "invalid", "expires_at"},

		// Invalid UTF-8 and control characters.
		{"invalid UTF-8", "POST", o + "/projects", js, "{\"name\":\"\xff\xfe\"}", 400, "invalid", ""},
		{"overlong UTF-8", "POST", o + "/projects", js, "{\"name\":\"\xc0\xaf\"}", 400, "invalid", ""},
		{"escaped NUL", "POST", o + "/projects", js, `{"name":"a\u0000b"}`, 400, "invalid", "name"},
		{"invalid UTF-8 in the path", "GET", o + "/roles/%ff/x", "", "", 404, "not_found", ""},
		{"invalid UTF-8 slug", "GET", "/v1/orgs/acm%ff", "", "", 404, "not_found", ""},

		// Values out of range.
		{"name too long", "POST", o + "/projects", js, `{"name":"` + strings.Repeat("é", 201) + `"}`, 400, "invalid", "name"},
		{"blank name", "POST", o + "/projects", js, `{"name":" \t\n"}`, 400, "invalid", "name"},
		{"email with a display name", "POST", o + "/members", js, `{"email":"Eve <eve@evil.test>"}`, 400, "invalid", "email"},
		{"email with two @", "POST", o + "/members", js, `{"email":"eve@acme.test@evil.test"}`, 400, "invalid", "email"},
		{"unknown permission", "POST", o + "/roles", js, `{"name":"r","permissions":["projects.read","*.*"]}`, 400, "invalid", "permissions"},
		{"role name with a quote", "POST", o + "/roles", js, `{"name":"r'--","permissions":["projects.read"]}`, 400, "invalid", "name"},
		{"malformed user id", "POST", o + "/role-bindings", js, `{"user_id":"1 OR 1=1","role":"viewer"}`, 400, "invalid", "user_id"},
		{"malformed expiry", "POST", o + "/api-keys", js, `{"name":"k","expires_at":"tomorrow"}`, 400, "invalid", "expires_at"},

		// SQL injection where the API reads identifiers, filters and cursors.
		{"injection in the slug", "GET", "/v1/orgs/" + url.PathEscape("acme' OR '1'='1") + "/projects", "", "", 404, "not_found", ""},
		{"injection in an id", "GET", o + "/projects/" + url.PathEscape("' OR 1=1--"), "", "", 404, "not_found", ""},
		{"injection in a role name", "DELETE", o + "/roles/" + url.PathEscape("x'; DROP TABLE roles;--"), "", "", 404, "not_found", ""},
		{"injection in a cursor", "GET", o + "/projects?cursor=" + url.QueryEscape("' OR 1=1--"), "", "", 400, "invalid", "cursor"},
		{"injection in a limit", "GET", o + "/projects?limit=" + url.QueryEscape("1; DROP TABLE projects"), "", "", 400, "invalid", "limit"},
		{"injection in an order", "GET", o + "/audit-events?order=" + url.QueryEscape("seq; DROP TABLE audit_events"), "", "", 400, "invalid", "order"},
		{"injection in a time", "GET", o + "/audit-events?since=" + url.QueryEscape("2020-01-01' OR '1'='1"), "", "", 400, "invalid", "since"},
		{"injection in a permission", "GET", o + "/access-check?user_id=" + owner + "&permission=" + url.QueryEscape("x' OR 1=1--"), "", "", 400, "invalid", "permission"},

		// Path traversal.
		{"traversal in an id", "GET", o + "/projects/..%2F..%2F..%2Fetc%2Fpasswd", "", "", 404, "not_found", ""},
		{"traversal in the slug", "GET", "/v1/orgs/..%2F..%2Fetc%2Fpasswd", "", "", 404, "not_found", ""},
		{"traversal in a role name", "PUT", o + "/roles/..%2Fadmin", js, `{"permissions":["*"]}`, 404, "not_found", ""},
		{"traversal in an export format", "GET", o + "/audit-events/export?format=..%2F..%2Fetc%2Fpasswd", "", "", 400, "invalid", "format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.t = t
			a := w.send(w.ownerKey, c.method, c.path, c.ctype, c.body)
			var e apiErr
			if err := json.Unmarshal(a.body, &e); err != nil || a.status != c.status || e.Error.Code != c.code || e.Error.Field != c.field {
				t.Errorf("%d %.300s; want %d %s field %q", a.status, a.body, c.status, c.code, c.field)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	// The traversal attempts changed nothing and read nothing: the owner's
	// world is as it was.
	w.t = t
	w.must(200, w.ownerKey, "GET", o+"/projects/"+project, "")
}

// awkward are strings that are valid data however much they look like an
// attack, and must come back byte for byte.
var awkward = []string{
	`'; DROP TABLE projects; --`,
	`Robert'); DELETE FROM users WHERE ('1'='1`,
	`" OR ""="`,
	`\'; \"; \\`,
	`../../etc/passwd`,
	`..\..\windows\system32`,
	`%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
	`<script>alert(1)</script>`,
	`{{.}} ${jndi:ldap://x} $(rm -rf /)`,
	`🚀✨ 👩‍💻 🏳️‍🌈`,
	"שלום עולם — مرحبا بالعالم",
	"\u202eevil\u202c text", // right-to-left override
	"zero\u200bwidth\ufeffjoin",
	"e\u0301 vs é", // combining accent, not normalized
	"tab\tnew\nline\r\n",
	"NULL",
	" leading and trailing ",
	"line\u2028separator\u2029",
	strings.Repeat("界", 200), // 200 characters, 600 bytes: the limit is in characters
	strings.Repeat("x", 199) + "🚀",
}

// TestValidStringsRoundTrip stores each awkward string as a project's name
// and description, a member's name, an API key's name and the org's name,
// through the real API, and reads each back, by create, get, list and the
// audit trail: byte for byte the same.
func TestValidStringsRoundTrip(t *testing.T) {
	w := newWorld(t)
	const o = "/v1/orgs/acme"
	quote := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	for i, s := range awkward {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 200 {
			t.Fatalf("bad fixture %q", s)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			w.t = t
			check := func(what, got string) {
				t.Helper()
				if got != s {
					t.Errorf("%s: got %q, want %q", what, got, s)
				}
			}
			var p struct{ ID, Name, Description string }
			json.Unmarshal(w.must(201, w.ownerKey, "POST", o+"/projects", `{"name":`+quote(s)+`,"description":`+quote(s)+`}`).body, &p)
			check("created name", p.Name)
			check("created description", p.Description)
			json.Unmarshal(w.must(200, w.ownerKey, "GET", o+"/projects/"+p.ID, "").body, &p)
			check("name", p.Name)
			check("description", p.Description)
			json.Unmarshal(w.must(200, w.ownerKey, "PATCH", o+"/projects/"+p.ID, `{"description":`+quote(s+"!")+`}`).body, &p)
			check("name after a patch", p.Name)
			check("patched description", strings.TrimSuffix(p.Description, "!"))

			found := false
			for _, item := range listAll[struct{ ID, Name string }](w, o+"/projects") {
				if item.ID == p.ID {
					found = true
					check("listed name", item.Name)
				}
			}
			if !found {
				t.Errorf("project %s not listed", p.ID)
			}

			type member struct {
				Name   string `json:"name"`
				UserID string `json:"user_id"`
			}
			var m member
			json.Unmarshal(w.must(201, w.ownerKey, "POST", o+"/members", fmt.Sprintf(`{"email":"rt-%d@acme.test","name":%s,"role":"viewer"}`, i, quote(s))).body, &m)
			check("member name", m.Name)
			for _, item := range listAll[member](w, o+"/members") {
				if item.UserID == m.UserID {
					check("listed member name", item.Name)
				}
			}

			var k struct{ ID, Name string }
			json.Unmarshal(w.must(201, w.ownerKey, "POST", o+"/api-keys", `{"name":`+quote(s)+`}`).body, &k)
			check("key name", k.Name)
			for _, item := range listAll[struct{ ID, Name string }](w, o+"/api-keys") {
				if item.ID == k.ID {
					check("listed key name", item.Name)
				}
			}

			var org struct{ Name string }
			json.Unmarshal(w.must(200, w.ownerKey, "PATCH", o, `{"name":`+quote(s)+`}`).body, &org)
			check("org name", org.Name)
			json.Unmarshal(w.must(200, w.ownerKey, "GET", o, "").body, &org)
			check("org name read back", org.Name)

			// The audit trail keeps the value too: the project's creation.
			var trail struct {
				Items []struct {
					Metadata struct {
						After struct{ Name, Description string }
					}
				}
			}
			json.Unmarshal(w.must(200, w.ownerKey, "GET", o+"/audit-events?action=project.create&target_id="+p.ID, "").body, &trail)
			if len(trail.Items) != 1 {
				t.Fatalf("audit events of the creation: %d", len(trail.Items))
			}
			check("audited name", trail.Items[0].Metadata.After.Name)
		})
	}
	w.t = t
	report := w.must(200, w.ownerKey, "GET", o+"/audit-events/verify", "").json(t)
	if report["ok"] != true {
		t.Errorf("the chain does not verify after the awkward strings: %v", report)
	}
}

// listAll reads every page of a list as the owner.
func listAll[T any](w *world, path string) []T {
	w.t.Helper()
	var out []T
	cursor := ""
	for range 100 {
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.must(200, w.ownerKey, "GET", path+"?limit=500&cursor="+url.QueryEscape(cursor), "").body, &page); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
	w.t.Fatal("paging does not end")
	return nil
}
