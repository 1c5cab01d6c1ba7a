package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
)

// bodySeeds are JSON bodies worth starting from: valid ones of each shape,
// and the ways a body goes wrong.
var bodySeeds = []string{
	`{"name":"apollo","description":"first"}`,
	`{"name":"a'); DROP TABLE projects;--","description":"../../etc/passwd"}`,
	`{"email":"ada@acme.test","name":"Ada","role":"member"}`,
	`{"name":"releaser","permissions":["projects.*","org.read"]}`,
	`{"permissions":[]}`, `{"permissions":null}`, `{"permissions":[1]}`, `{"permissions":"*"}`,
	`{"user_id":"01900000-0000-7000-8000-000000000001","role":"viewer","project_id":""}`,
	`{"name":"ci","expires_at":"2030-01-01T00:00:00Z","user_id":""}`,
	`{"name":null,"region":"eu"}`, `{"description":null}`,
	`{"name":"x","extra":1}`, `{"name":1}`, `{"name":"x"} {"name":"y"}`, `{"Name":"x"}`, `{"name":"x","name":"y"}`,
	"{\"name\":\"\xff\"}", `{"name":"\u0000"}`, `{"name":"\ud800"}`, `{"name":"\u202eRTL"}`,
	`[]`, `null`, ``, `{`, `{"name":"日本語 ✓"}`, `{"name":{"a":1}}`, `{"name":"x"}garbage`, ` {"name":"x"} `,
}

// fuzzDecode runs the JSON decoder every /v1 body goes through on body, as
// a body of type T whose JSON field names are fields. It must never panic.
// A refusal is a 4xx error: 413 or 415 from the transport, else ErrInvalid,
// naming either nothing or a key of the body. An accepted body is a JSON
// object with no key but fields (case and all), of valid UTF-8, whose value
// re-encodes to an object that decodes to the same value.
func fuzzDecode[T any](t *testing.T, s *server, fields []string, body string) {
	r := httptest.NewRequest("POST", "/v1/orgs/acme/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	in, err := decode[T](s, httptest.NewRecorder(), r)
	var keys map[string]json.RawMessage
	objErr := json.Unmarshal([]byte(body), &keys)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			if ae.status != http.StatusRequestEntityTooLarge && ae.status != http.StatusUnsupportedMediaType {
				t.Fatalf("body %q: status %d, want 413 or 415 from the transport", body, ae.status)
			}
			return
		}
		if k := repo.KindOf(err); k != repo.ErrInvalid {
			t.Fatalf("body %q: error %v of kind %v, want an API error or ErrInvalid", body, err, k)
		}
		if f := repo.FieldOf(err); f != "" {
			first, _, _ := strings.Cut(f, ".") // a type error deep in a value names its path
			_, whole := keys[f]
			if _, ok := keys[first]; !ok && !whole {
				t.Fatalf("body %q: refused naming field %q, which it does not have", body, f)
			}
		}
		return
	}
	if objErr != nil || keys == nil {
		t.Fatalf("body %q: accepted, but it is not one JSON object (%v)", body, objErr)
	}
	for k := range keys {
		if !slices.Contains(fields, k) {
			t.Fatalf("body %q: accepted with the unknown key %q", body, k)
		}
	}
	if !utf8.ValidString(body) {
		t.Fatalf("body %q: accepted invalid UTF-8", body)
	}
	again, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := json.NewDecoder(bytes.NewReader(again)).Decode(&back); err != nil || !reflect.DeepEqual(back, in) {
		t.Fatalf("body %q: %+v does not round-trip (%v)", body, in, err)
	}
}

// FuzzDecodeProject is fuzzDecode for POST /projects.
func FuzzDecodeProject(f *testing.F) {
	for _, seed := range bodySeeds {
		f.Add(seed)
	}
	s := &server{maxBody: 1 << 10}
	f.Fuzz(func(t *testing.T, body string) {
		fuzzDecode[projectInput](t, s, []string{"name", "description"}, body)
	})
}

// FuzzDecodeBodies is fuzzDecode for every other body the API takes; kind
// picks which.
func FuzzDecodeBodies(f *testing.F) {
	for i, seed := range bodySeeds {
		f.Add(uint8(i), seed)
	}
	s := &server{maxBody: 1 << 10}
	f.Fuzz(func(t *testing.T, kind uint8, body string) {
		switch kind % 7 {
		case 0:
			fuzzDecode[memberInput](t, s, []string{"email", "name", "role"}, body)
		case 1:
			fuzzDecode[roleInput](t, s, []string{"name", "permissions"}, body)
		case 2:
			fuzzDecode[rolePermissions](t, s, []string{"permissions"}, body)
		case 3:
			fuzzDecode[roleBindingInput](t, s, []string{"user_id", "role", "project_id"}, body)
		case 4:
			fuzzDecode[apiKeyInput](t, s, []string{"name", "expires_at", "user_id"}, body)
		case 5:
			fuzzDecode[orgPatch](t, s, []string{"name", "region"}, body)
		case 6:
			fuzzDecode[projectPatch](t, s, []string{"name", "description"}, body)
		}
	})
}

// FuzzRequestInputs feeds the decoders of query parameters, path values and
// headers: page requests, consistency headers, UUIDs, times and audit
// filters. None may panic; each refuses with a 400 naming its input, and
// what it accepts is well formed.
func FuzzRequestInputs(f *testing.F) {
	tok := scaling.TokenAt(42).String()
	for _, seed := range [][6]string{
		{"10", "djF8cHJvamVjdHN8YQ", "strong", tok, "01900000-0000-7000-8000-000000000001", "2030-01-01T00:00:00Z"},
		{"-1", "", "eventual", "", "01900000-0000-7000-8000-00000000000G", "2030-01-01T00:00:00+02:00"},
		{"9999999999999999999999", "%zz", "max-staleness=5s", "AQAA", "{01900000-0000-7000-8000-000000000001}", "yesterday"},
		{"0x10", "x", "max-staleness=-1s", "\n" + tok, "01900000000070008000000000000001", "2030-01-01T00:00:00.123456789Z"},
		{"", "", "Strong", "AAAAAAAAAAAA", "urn:uuid:01900000-0000-7000-8000-000000000001", "0000-01-01T00:00:00Z"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4], seed[5])
	}
	f.Fuzz(func(t *testing.T, limit, cursor, mode, token, id, ts string) {
		if len(limit)+len(cursor)+len(mode)+len(token)+len(id)+len(ts) > 1<<10 {
			return // what a header or query holds; longer inputs only slow minimization
		}
		q := url.Values{"limit": {limit}, "cursor": {cursor}, "since": {ts}, "order": {mode}, "outcome": {id}}
		r := httptest.NewRequest("GET", "/v1/orgs/acme/projects?"+q.Encode(), nil)
		r.Header.Set(ConsistencyHeader, mode)
		r.Header.Set(TokenHeader, token)

		if page, err := pageRequest(r); err != nil {
			wantInvalid(t, err, "limit")
		} else if page.Limit < 0 || page.Cursor != cursor {
			t.Fatalf("limit %q cursor %q: %+v", limit, cursor, page)
		}

		ctx, err := withConsistency(r)
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			if ae.status != 400 || (ae.field != ConsistencyHeader && ae.field != TokenHeader) {
				t.Fatalf("mode %q token %q: %+v", mode, token, ae)
			}
		case err != nil:
			t.Fatalf("mode %q token %q: %v", mode, token, err)
		case !scaling.Recording(ctx):
			t.Fatalf("mode %q token %q: accepted, without a token recorder", mode, token)
		}

		if u, err := parseUUID(id); err == nil && u.String() != strings.ToLower(id) {
			t.Fatalf("parseUUID(%q) = %v: only the canonical form may pass", id, u)
		}
		if u, err := requiredID("user_id", id); err != nil {
			wantInvalid(t, err, "user_id")
		} else if u.String() != strings.ToLower(id) {
			t.Fatalf("requiredID(%q) = %v", id, u)
		}

		if tm, err := optionalTime("since", ts); err != nil {
			wantInvalid(t, err, "since")
		} else if ts == "" && !tm.IsZero() || !tm.IsZero() && tm.Location() != time.UTC {
			t.Fatalf("optionalTime(%q) = %v", ts, tm)
		} else if back, err := time.Parse(time.RFC3339Nano, tm.Format(time.RFC3339Nano)); err != nil || !back.Equal(tm) {
			t.Fatalf("optionalTime(%q) = %v, which does not round-trip: %v", ts, tm, err)
		}

		if _, err := auditFilter(r.URL.Query(), true); err != nil {
			if f := repo.FieldOf(err); repo.KindOf(err) != repo.ErrInvalid || !slices.Contains([]string{"outcome", "since", "until", "order"}, f) {
				t.Fatalf("auditFilter: %v", err)
			}
		}
	})
}

// wantInvalid fails t unless err is an ErrInvalid error naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if repo.KindOf(err) != repo.ErrInvalid || repo.FieldOf(err) != field {
		t.Fatalf("error %v, want ErrInvalid naming %q", err, field)
	}
}
