package httpapi

import (
	clist "container/list"
	"crypto/sha256"
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-go/strata/repo"
)

// RateLimit limits how fast clients may call the /v1 routes, with token
// buckets held in memory (per process: N instances allow N times the rate).
// The zero value limits nothing.
//
// Two limits apply, each answered with 429, a Retry-After header (whole
// seconds) and the JSON error body:
//
//   - PerKey counts every request by the API key it presents, before the key
//     is checked: a client over its limit costs no database work, and a
//     guessed key cannot spend the budget of a real one (buckets are keyed
//     by the SHA-256 of the whole key, not by its public ID).
//   - FailedAuthPerAddr counts failed authentications (an unknown, malformed,
//     revoked or expired key) by client address (IPv4 address, IPv6 /64).
//     Once an address has spent it, its requests are refused before the
//     database is asked, except those with a key that authenticated lately:
//     key guessing from one address is bounded, and it does not lock out the
//     working keys used from that address (a shared NAT, say).
//
// The address is the connection's (http.Request.RemoteAddr): behind a
// reverse proxy every client shares the proxy's, so set FailedAuthPerAddr
// generously there or leave it 0. Headers such as X-Forwarded-For are not
// trusted: a client could send any.
type RateLimit struct {
	PerKey            Rate
	FailedAuthPerAddr Rate
	// MaxTracked bounds the buckets each limit keeps (memory: about 200
	// bytes each); 0 means DefaultMaxTracked. Buckets idle long enough to
	// have refilled are dropped first, then the least recently used, which
	// then starts again full.
	MaxTracked int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Rate is a token bucket: PerSecond tokens a second, holding at most Burst.
// PerSecond 0 (or less) disables the limit; Burst 0 means PerSecond rounded
// up (at least 1).
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultMaxTracked is RateLimit.MaxTracked when 0.
const DefaultMaxTracked = 10_000

func (r Rate) enabled() bool { return r.PerSecond > 0 && !math.IsInf(r.PerSecond, 1) }

// limits applies a RateLimit; nil limits nothing.
type limits struct {
	now   func() time.Time
	keys  *limiter[[sha256.Size]byte] // by presented key; also remembers which authenticated
	addrs *limiter[netip.Prefix]      // failed authentications by address; nil when off
}

// newLimits returns the limits cfg asks for, or nil for none.
func newLimits(cfg RateLimit) *limits {
	if !cfg.PerKey.enabled() && !cfg.FailedAuthPerAddr.enabled() {
		return nil
	}
	l := &limits{now: cfg.Now}
	if l.now == nil {
		l.now = time.Now
	}
	size := cfg.MaxTracked
	if size <= 0 {
		size = DefaultMaxTracked
	}
	// The key limiter exists when either limit is on: with PerKey off it
	// only remembers which keys authenticated, for the address limit.
	l.keys = newLimiter[[sha256.Size]byte](cfg.PerKey, size)
	if cfg.FailedAuthPerAddr.enabled() {
		l.addrs = newLimiter[netip.Prefix](cfg.FailedAuthPerAddr, size)
	}
	return l
}

// credential is what the limits know of one request: the presented key's
// digest and the client's address prefix.
type credential struct {
	key  [sha256.Size]byte
	addr netip.Prefix
}

// admit decides, before authentication, whether a request presenting key
// from remoteAddr may go on; a refusal is a 429 error.
func (l *limits) admit(key, remoteAddr string) (credential, error) {
	if l == nil {
		return credential{}, nil
	}
	c := credential{key: sha256.Sum256([]byte(canonicalKey(key))), addr: addrPrefix(remoteAddr)}
	now := l.now()
	// The address first: a guesser it stops leaves no bucket behind.
	if l.addrs != nil && !l.keys.trusted(c.key) {
		if ok, wait := l.addrs.peek(c.addr, now); !ok {
			return c, tooManyRequests("too many failed authentications from this address", wait)
		}
	}
	if ok, wait := l.keys.take(c.key, now); !ok {
		return c, tooManyRequests("too many requests with this API key", wait)
	}
	return c, nil
}

// authenticated records the outcome of authenticating c: a failure spends
// one of the address's tokens, a success marks the key as working.
func (l *limits) authenticated(c credential, err error) {
	if l == nil {
		return
	}
	switch {
	case err == nil:
		l.keys.trust(c.key, true)
	case errors.Is(err, repo.ErrUnauthenticated):
		l.keys.trust(c.key, false)
		if l.addrs != nil {
			l.addrs.take(c.addr, l.now())
		}
	}
}

// canonicalKey returns the one spelling of a key of the form
// strata_<32 hex>_<secret> that a bucket counts: the key ID's hex digits in
// lower case, as issued, since the service accepts either case and a client
// could otherwise mint 2^32 spellings, and as many budgets, of one key.
func canonicalKey(key string) string {
	const idStart, idEnd = len("strata_"), len("strata_") + 32
	if len(key) <= idEnd || key[:idStart] != "strata_" || key[idEnd] != '_' {
		return key
	}
	return key[:idStart] + strings.ToLower(key[idStart:idEnd]) + key[idEnd:]
}

// tooManyRequests is the 429 error, retryable after wait (whole seconds,
// at least one).
func tooManyRequests(why string, wait time.Duration) error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &apiError{status: http.StatusTooManyRequests, code: "rate_limited", retryAfter: secs,
		message: why + ": retry after " + strconv.Itoa(secs) + " s"}
}

// addrPrefix is the bucket of a RemoteAddr: the IPv4 address, or the /64 of
// an IPv6 one (one host usually holds a whole /64). An address that does not
// parse shares the zero prefix.
func addrPrefix(remoteAddr string) netip.Prefix {
	a, err := netip.ParseAddr(remoteHost(remoteAddr))
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// limiter is a set of token buckets by key, at most max of them, least
// recently used first out. A zero rate admits everything (the buckets then
// only carry the trusted mark).
type limiter[K comparable] struct {
	rate, burst float64
	full        time.Duration // how long an empty bucket takes to refill
	max         int

	mu      sync.Mutex
	buckets map[K]*clist.Element // of *bucket[K]
	lru     clist.List           // most recently used at the front
}

type bucket[K comparable] struct {
	key     K
	tokens  float64
	last    time.Time // when tokens was last brought up to date
	trusted bool      // the key authenticated, last time it was tried
}

func newLimiter[K comparable](r Rate, size int) *limiter[K] {
	l := &limiter[K]{max: size, buckets: make(map[K]*clist.Element)}
	if r.enabled() {
		l.rate = r.PerSecond
		l.burst = float64(r.Burst)
		if r.Burst <= 0 {
			l.burst = math.Max(1, math.Ceil(r.PerSecond))
		}
		l.full = time.Duration(l.burst / l.rate * float64(time.Second))
	}
	return l
}

// take spends one of k's tokens if it has one. It returns whether it did,
// and if not how long until one is available.
func (l *limiter[K]) take(k K, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(k, now)
	if l.rate == 0 {
		return true, 0
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// peek reports whether k has a token, without spending it, and if not how
// long until it has one.
func (l *limiter[K]) peek(k K, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == 0 {
		return true, 0
	}
	if el, ok := l.buckets[k]; ok {
		b := el.Value.(*bucket[K])
		l.refill(b, now)
		if b.tokens < 1 {
			return false, l.wait(b)
		}
	}
	return true, 0 // an unknown key has a full bucket
}

// trusted reports k's trusted mark; false when k has no bucket.
func (l *limiter[K]) trusted(k K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.buckets[k]
	return ok && el.Value.(*bucket[K]).trusted
}

// trust sets k's trusted mark, if k has a bucket.
func (l *limiter[K]) trust(k K, trusted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.buckets[k]; ok {
		el.Value.(*bucket[K]).trusted = trusted
	}
}

// len returns the number of buckets held.
func (l *limiter[K]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// get returns k's bucket brought up to now, making a full one if there is
// none. Called with mu held.
func (l *limiter[K]) get(k K, now time.Time) *bucket[K] {
	if el, ok := l.buckets[k]; ok {
		l.lru.MoveToFront(el)
		b := el.Value.(*bucket[K])
		l.refill(b, now)
		return b
	}
	l.evict(now)
	b := &bucket[K]{key: k, tokens: l.burst, last: now}
	l.buckets[k] = l.lru.PushFront(b)
	return b
}

// evict makes room for one more bucket: it drops the buckets that have been
// idle long enough to be full again (forgetting them changes nothing but
// their trusted mark), then, at the bound, the least recently used one.
// Called with mu held.
func (l *limiter[K]) evict(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		b := el.Value.(*bucket[K])
		if len(l.buckets) < l.max && (b.trusted || now.Sub(b.last) < l.full) {
			return
		}
		l.lru.Remove(el)
		delete(l.buckets, b.key)
	}
}

// refill adds the tokens earned since b.last. Called with mu held.
func (l *limiter[K]) refill(b *bucket[K], now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
}

// wait is how long b needs to earn its next token. Called with mu held.
func (l *limiter[K]) wait(b *bucket[K]) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
