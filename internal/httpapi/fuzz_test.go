package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strata-go/strata/repo"
)

// FuzzDecodeProject feeds arbitrary bodies to the JSON decoder every POST
// uses. It must never panic; it either accepts a body, whose fields then
// round-trip byte for byte, or refuses it with a 4xx error (never a 5xx).
func FuzzDecodeProject(f *testing.F) {
	for _, seed := range []string{
		`{"name":"apollo","description":"first"}`,
		`{"name":"a'); DROP TABLE projects;--","description":"../../etc/passwd"}`,
		`{"name":"x","extra":1}`,
		`{"name":1}`,
		`{"name":"x"} {"name":"y"}`,
		`{"Name":"x"}`,
		"{\"name\":\"\xff\"}",
		`{"name":"\u0000"}`,
		`[]`, `null`, ``, `{`, `{"name":"日本語 ✓"}`,
	} {
		f.Add(seed)
	}
	s := &server{maxBody: 1 << 10}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/orgs/acme/projects", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		in, err := decode[projectInput](s, httptest.NewRecorder(), r)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				if ae.status < 400 || ae.status > 499 {
					t.Fatalf("body %q: status %d, want 4xx", body, ae.status)
				}
				return
			}
			if k := repo.KindOf(err); k != repo.ErrInvalid {
				t.Fatalf("body %q: error %v of kind %v, want an API error or ErrInvalid", body, err, k)
			}
			return
		}
		// Accepted: the strings are valid UTF-8 and re-encode to an object
		// that decodes to the same values.
		if !utf8.ValidString(in.Name) || !utf8.ValidString(in.Description) {
			t.Fatalf("body %q: accepted invalid UTF-8", body)
		}
		again, _ := json.Marshal(in)
		var back projectInput
		if err := json.NewDecoder(bytes.NewReader(again)).Decode(&back); err != nil || back != in {
			t.Fatalf("body %q: %+v does not round-trip (%v)", body, in, err)
		}
	})
}
