package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// limited is the API over a mock Service that accepts the keys in good
// (any other is an unknown key) and answers GET /v1/orgs/acme, with limit
// on the fake clock. It counts the Authenticate calls: the database work a
// rate limit must save.
type limited struct {
	*harness
	clock *fakeClock
	good  map[string]bool
	auths int
}

func newLimited(t *testing.T, limit httpapi.RateLimit, good ...string) *limited {
	t.Helper()
	clock := newFakeClock()
	limit.Now = clock.Now
	h := newHarness(t, func(c *httpapi.Config) { c.RateLimit = limit })
	l := &limited{harness: h, clock: clock, good: make(map[string]bool)}
	for _, k := range good {
		l.good[k] = true
	}
	h.rec.Authenticate(any_, any_, any_).DoAndReturn(func(_ context.Context, key string, _ service.Request) (service.Principal, error) {
		l.auths++
		if l.good[key] {
			return principal, nil
		}
		return service.Principal{}, repo.Unauthenticated("invalid or expired API key")
	}).AnyTimes()
	h.rec.GetOrg(any_, any_, "acme").Return(org, nil).AnyTimes()
	return l
}

// get calls GET /v1/orgs/acme with key from remote ("host:port").
func (l *limited) get(key, remote string) *httptest.ResponseRecorder {
	l.t.Helper()
	r := httptest.NewRequest("GET", "/v1/orgs/acme", nil)
	r.RemoteAddr = remote
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	l.handler.ServeHTTP(w, r)
	return w
}

// wantLimited checks w is a 429 with Retry-After retry and the JSON error.
func wantLimited(t *testing.T, w *httptest.ResponseRecorder, retry string) {
	t.Helper()
	wantError(t, w, http.StatusTooManyRequests, "rate_limited", "")
	if got := w.Header().Get("Retry-After"); got != retry {
		t.Errorf("Retry-After = %q, want %q", got, retry)
	}
}

const (
	otherKey = "strata_0123456789abcdef0123456789abcdef_otherotherotherotherotherotherotherothe"
	client   = "198.51.100.7:5000"
)

func TestRateLimitPerKey(t *testing.T) {
	l := newLimited(t, httpapi.RateLimit{PerKey: httpapi.Rate{PerSecond: 0.5, Burst: 3}}, testKey, otherKey)
	for i := range 3 {
		if w := l.get(testKey, client); w.Code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, w.Code, w.Body)
		}
	}
	// Over the burst: refused before authentication, told to wait for the
	// next token (2 s at 0.5/s).
	wantLimited(t, l.get(testKey, client), "2")
	if l.auths != 3 {
		t.Errorf("Authenticate ran %d times, want 3: a limited request must cost no database work", l.auths)
	}
	// Another key, and the same key from another address, are separate:
	// the budget is the key's, wherever it is used from.
	if w := l.get(otherKey, client); w.Code != 200 {
		t.Errorf("another key: %d", w.Code)
	}
	wantLimited(t, l.get(testKey, "203.0.113.9:1"), "2")

	// The key's ID in upper case is the same key, with the same budget.
	wantLimited(t, l.get(testKey[:7]+strings.ToUpper(testKey[7:39])+testKey[39:], client), "2")

	// A guess with the same key ID but another secret has a budget of its
	// own: it cannot spend the real key's.
	guess := testKey[:len(testKey)-4] + "AAAA"
	for range 3 {
		if w := l.get(guess, client); w.Code != 401 {
			t.Fatalf("guessed key: %d", w.Code)
		}
	}
	wantLimited(t, l.get(guess, client), "2")

	l.clock.Advance(1500 * time.Millisecond) // 0.75 token
	wantLimited(t, l.get(testKey, client), "1")
	l.clock.Advance(500 * time.Millisecond) // one token
	if w := l.get(testKey, client); w.Code != 200 {
		t.Errorf("after the wait: %d", w.Code)
	}
	wantLimited(t, l.get(testKey, client), "2")
	l.clock.Advance(time.Hour) // full again, and no more than full
	for range 3 {
		if w := l.get(testKey, client); w.Code != 200 {
			t.Fatalf("after an hour: %d", w.Code)
		}
	}
	wantLimited(t, l.get(testKey, client), "2")
}

func TestRateLimitFailedAuthPerAddress(t *testing.T) {
	l := newLimited(t, httpapi.RateLimit{FailedAuthPerAddr: httpapi.Rate{PerSecond: 0.1, Burst: 3}}, testKey)
	// A working key authenticates first from the address.
	if w := l.get(testKey, client); w.Code != 200 {
		t.Fatalf("good key: %d", w.Code)
	}
	// Three guesses fail as usual, each spending one token of the address.
	for i := range 3 {
		guess := fmt.Sprintf("strata_%032x_%s", i, strings.Repeat("A", 43))
		if w := l.get(guess, client); w.Code != 401 {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	before := l.auths
	// The next guesses, of any form, are refused without asking the database.
	for _, guess := range []string{"nonsense", testKey + "x", strings.Repeat("k", 1000)} {
		wantLimited(t, l.get(guess, client), "10")
	}
	if l.auths != before {
		t.Errorf("Authenticate ran %d more times for refused guesses", l.auths-before)
	}
	// The working key still works from there (a shared NAT is not locked
	// out by one guesser), and other addresses are not affected...
	if w := l.get(testKey, client); w.Code != 200 {
		t.Errorf("good key from the guessing address: %d", w.Code)
	}
	if w := l.get("nonsense", "203.0.113.1:80"); w.Code != 401 {
		t.Errorf("a guess from another address: %d, want 401", w.Code)
	}
	// ...but the rest of an IPv6 /64 is the same client.
	l6 := newLimited(t, httpapi.RateLimit{FailedAuthPerAddr: httpapi.Rate{PerSecond: 1, Burst: 1}})
	if w := l6.get("nonsense", "[2001:db8:1:2::1]:443"); w.Code != 401 {
		t.Fatalf("first guess: %d", w.Code)
	}
	wantLimited(t, l6.get("nonsense", "[2001:db8:1:2:ffff::9]:443"), "1")
	if w := l6.get("nonsense", "[2001:db8:1:3::1]:443"); w.Code != 401 {
		t.Errorf("another /64: %d, want 401", w.Code)
	}

	// Time refills the address: one guess every 10 s.
	l.clock.Advance(10 * time.Second)
	if w := l.get("nonsense", client); w.Code != 401 {
		t.Errorf("after 10 s: %d, want 401", w.Code)
	}
	wantLimited(t, l.get("nonsense", client), "10")
}

// TestRateLimitRevokedKeyLosesTrust: a key that worked and then fails (it
// was revoked) counts as a guess again.
func TestRateLimitRevokedKeyLosesTrust(t *testing.T) {
	l := newLimited(t, httpapi.RateLimit{FailedAuthPerAddr: httpapi.Rate{PerSecond: 0.01, Burst: 1}}, testKey, otherKey)
	for _, k := range []string{testKey, otherKey} {
		if w := l.get(k, client); w.Code != 200 {
			t.Fatalf("%d", w.Code)
		}
	}
	delete(l.good, otherKey) // revoked
	if w := l.get(otherKey, client); w.Code != 401 {
		t.Fatalf("revoked key: %d, want 401", w.Code)
	}
	wantLimited(t, l.get(otherKey, client), "100")
	if w := l.get(testKey, client); w.Code != 200 {
		t.Errorf("the working key: %d", w.Code)
	}
}

func TestRateLimitOffByDefault(t *testing.T) {
	l := newLimited(t, httpapi.RateLimit{}, testKey)
	for i := range 1000 {
		if w := l.get(testKey, client); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
		if w := l.get("nonsense", client); w.Code != 401 {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
}
