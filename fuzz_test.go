package strata_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/repo"
)

// FuzzDatabaseURL: DialectOf and Open never panic on any URL. DialectOf
// accepts exactly the documented schemes (any case) and refuses the rest
// with an ErrInvalid naming "database url", whose message does not show a
// password the URL carries. Open, given a SQLite URL and a context already
// cancelled (so it touches no file), refuses a malformed one with the same
// ErrInvalid, and gets past the parsing (to fail as unavailable) exactly
// when the URL has a file name and only valid readers= and busy_timeout=.
func FuzzDatabaseURL(f *testing.F) {
	for _, s := range []string{
		"sqlite:strata.db", "sqlite:///var/lib/strata.db", "sqlite::memory:", "file:strata.db", "SQLite:x.db",
		"sqlite3:x.db", "sqlite:x.db?readers=4&busy_timeout=10s", "sqlite:x.db?readers=0", "sqlite:x.db?readers=-1",
		"sqlite:x.db?busy_timeout=-1s", "sqlite:x.db?busy_timeout=soon", "sqlite:x.db?journal=off", "sqlite:x.db?%zz",
		"sqlite:", "sqlite:?readers=1", "sqlite://", "sqlite:%zz", "sqlite:a%2Fb.db", "sqlite:x.db?readers=1&readers=x",
		"postgres://u:hunter2@db/strata", "postgresql://db/strata", "mysql://u:s3cretpass@db/x", "strata.db", "", ":",
		"http://example.com", "mysql://u:s3cretpass@db%zz/x",
	} {
		f.Add(s)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := strata.DialectOf(raw)
		scheme, _, hasColon := strings.Cut(raw, ":")
		var want repo.Dialect
		if hasColon {
			switch strings.ToLower(scheme) {
			case "postgres", "postgresql":
				want = repo.PostgreSQL
			case "sqlite", "sqlite3", "file":
				want = repo.SQLite
			}
		}
		if d != want || (err == nil) != (want != "") {
			t.Fatalf("DialectOf(%q) = %q, %v; want %q", raw, d, err, want)
		}
		if err != nil {
			wantURLInvalid(t, raw, err)
			return
		}
		if d != repo.SQLite {
			return
		}
		db, err := strata.Open(cancelled, raw)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded with a cancelled context", raw)
		}
		switch kind := repo.KindOf(err); {
		case kind == repo.ErrInvalid:
			wantURLInvalid(t, raw, err)
			if sqliteURLValid(raw) {
				t.Fatalf("Open(%q) refused a valid URL: %v", raw, err)
			}
		case kind == repo.ErrUnavailable:
			if !sqliteURLValid(raw) {
				t.Fatalf("Open(%q) went past parsing a malformed URL: %v", raw, err)
			}
		default:
			t.Fatalf("Open(%q) = %v (kind %v): want ErrInvalid, or ErrUnavailable from the cancelled context", raw, err, kind)
		}
	})
}

// wantURLInvalid checks err is ErrInvalid naming "database url" and does
// not show the password of raw, when raw parses as a URL with one.
func wantURLInvalid(t *testing.T, raw string, err error) {
	t.Helper()
	if repo.KindOf(err) != repo.ErrInvalid || repo.FieldOf(err) != "database url" {
		t.Fatalf("%q: %v (kind %v, field %q), want ErrInvalid naming the database url", raw, err, repo.KindOf(err), repo.FieldOf(err))
	}
	u, perr := url.Parse(raw)
	if perr != nil || u.User == nil {
		return // without a parse there is no telling where a password is
	}
	pw, ok := u.User.Password()
	u.User = nil
	if ok && len(pw) >= 4 && !strings.Contains(u.String(), pw) && !strings.Contains(u.User.String(), pw) &&
		strings.Contains(err.Error(), pw) {
		t.Fatalf("the error for %q shows the password: %v", raw, err)
	}
}

// sqliteURLValid is the documented form of a SQLite URL: a scheme, a file
// name (percent-escapes allowed; "//" before an absolute path), and only the
// parameters readers (a positive integer) and busy_timeout (a duration, not
// negative), each use of them valid.
func sqliteURLValid(raw string) bool {
	_, rest, _ := strings.Cut(raw, ":")
	rest, query, _ := strings.Cut(rest, "?")
	path, err := url.PathUnescape(strings.TrimPrefix(rest, "//"))
	if err != nil || path == "" {
		return false
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return false
	}
	for key, vals := range params {
		v := vals[len(vals)-1] // the last one counts
		switch key {
		case "readers":
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return false
			}
		case "busy_timeout":
			if d, err := time.ParseDuration(v); err != nil || d < 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
