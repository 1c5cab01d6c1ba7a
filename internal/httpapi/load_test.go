package httpapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// loadConfig bounds a load run. The defaults keep `go test` at a few
// seconds; make soak sets STRATA_SOAK (a duration) for a long run, which
// the others refine:
//
//	STRATA_LOAD_DURATION  how long to run (default 2s, or STRATA_SOAK)
//	STRATA_LOAD_REQUESTS  how many requests at most (default 3000; no bound with STRATA_SOAK)
//	STRATA_LOAD_CLIENTS   how many concurrent clients (default 16)
type loadConfig struct {
	duration time.Duration
	requests int64
	clients  int
}

func loadConfigFromEnv(t *testing.T) loadConfig {
	t.Helper()
	c := loadConfig{duration: 2 * time.Second, requests: 3000, clients: 16}
	var err error
	if s := os.Getenv("STRATA_SOAK"); s != "" {
		c.duration, err = time.ParseDuration(s)
		c.requests = math.MaxInt64
	}
	if s := os.Getenv("STRATA_LOAD_DURATION"); s != "" && err == nil {
		c.duration, err = time.ParseDuration(s)
	}
	if s := os.Getenv("STRATA_LOAD_REQUESTS"); s != "" && err == nil {
		c.requests, err = strconv.ParseInt(s, 10, 64)
	}
	if s := os.Getenv("STRATA_LOAD_CLIENTS"); s != "" && err == nil {
		c.clients, err = strconv.Atoi(s)
	}
	if err != nil || c.clients < 1 {
		t.Fatalf("STRATA_LOAD_*: %v (clients %d)", err, c.clients)
	}
	return c
}

// TestLoad runs many clients with keys of every built-in role doing a mix
// of reads and writes (projects, bindings, keys, audit reads) against the
// real API, on SQLite and on PostgreSQL, bounded in requests and time. Every
// answer must be one the caller's role allows (a viewer's write is a 403, a
// project someone else deleted a 404); a 5xx, a transport error or any other
// status fails the test. It reports throughput and latency percentiles.
func TestLoad(t *testing.T) {
	cfg := loadConfigFromEnv(t)
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			if d == repo.PostgreSQL {
				testdb.PostgresURL(t) // skips without PostgreSQL, as testdb does
			}
			w := newWorldWith(t, worldOptions{dialect: d, level: slog.LevelWarn, config: func(c *httpapi.Config) {
				// Limits too high to bite: the limiter runs on every request.
				c.RateLimit.PerKey = httpapi.Rate{PerSecond: 1e6, Burst: 1 << 20}
				c.RateLimit.FailedAuthPerAddr = httpapi.Rate{PerSecond: 1e6, Burst: 1 << 20}
			}})
			runLoad(t, w, d, cfg)
		})
	}
}

// loadOp is one kind of request in the mix: its share, and the statuses
// each role may get.
type loadOp struct {
	name   string
	weight int
	do     func(c *loadClient) (status int, err error)
	// ok lists the acceptable statuses for holders of the permission
	// perm, and denied those for the others (403 by default).
	perm string
	ok   []int
}

// loadClient is one client: a key of one role, its own projects, and the
// shared pool of project IDs.
type loadClient struct {
	w      *world
	http   *http.Client
	key    string
	role   string
	user   string
	rng    *rand.Rand
	index  int // of the client, for unique names
	n      int
	mine   []string // projects this client created and has not deleted
	pool   *projectPool
	target string // a viewer's user ID, to bind roles to
}

type projectPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *projectPool) add(id string) {
	p.mu.Lock()
	p.ids = append(p.ids, id)
	p.mu.Unlock()
}

func (p *projectPool) pick(r *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[r.IntN(len(p.ids))]
}

// send makes one request and returns its status and body.
func (c *loadClient) send(method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.w.srv.URL+"/v1/orgs/acme"+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (c *loadClient) status(method, path, body string) (int, error) {
	s, _, err := c.send(method, path, body)
	return s, err
}

var loadOps = []loadOp{
	{"get project", 25, func(c *loadClient) (int, error) { return c.status("GET", "/projects/"+c.pool.pick(c.rng), "") }, "projects.read", []int{200, 404}},
	{"list projects", 12, func(c *loadClient) (int, error) { return c.status("GET", "/projects?limit=50", "") }, "projects.read", []int{200}},
	{"get org", 10, func(c *loadClient) (int, error) { return c.status("GET", "", "") }, "org.read", []int{200}},
	{"list members", 5, func(c *loadClient) (int, error) { return c.status("GET", "/members", "") }, "members.read", []int{200}},
	{"access check", 5, func(c *loadClient) (int, error) {
		return c.status("GET", "/access-check?permission=projects.update&user_id="+c.user+"&project_id="+c.pool.pick(c.rng), "")
	}, "members.read", []int{200}},
	{"audit page", 5, func(c *loadClient) (int, error) { return c.status("GET", "/audit-events?limit=20", "") }, "audit.read", []int{200}},
	{"create project", 15, func(c *loadClient) (int, error) {
		c.n++
		s, b, err := c.send("POST", "/projects", fmt.Sprintf(`{"name":"load-%d-%d","description":"x"}`, c.index, c.n))
		if s == 201 {
			id := string(b[strings.Index(string(b), `"id":"`)+6:][:36])
			c.mine = append(c.mine, id)
			c.pool.add(id)
		}
		return s, err
	}, "projects.create", []int{201}},
	{"patch project", 10, func(c *loadClient) (int, error) {
		return c.status("PATCH", "/projects/"+c.pool.pick(c.rng), fmt.Sprintf(`{"description":"edit %d"}`, c.rng.Int()))
	}, "projects.update", []int{200, 404}},
	{"delete project", 4, func(c *loadClient) (int, error) {
		if len(c.mine) == 0 {
			return c.status("DELETE", "/projects/"+c.pool.pick(c.rng), "")
		}
		id := c.mine[len(c.mine)-1]
		c.mine = c.mine[:len(c.mine)-1]
		return c.status("DELETE", "/projects/"+id, "")
	}, "projects.delete", []int{204, 404}},
	{"bind and unbind", 4, func(c *loadClient) (int, error) {
		s, b, err := c.send("POST", "/role-bindings", `{"user_id":"`+c.target+`","role":"viewer","project_id":"`+c.pool.pick(c.rng)+`"}`)
		if s != 201 || err != nil {
			return s, err
		}
		id := string(b[strings.Index(string(b), `"id":"`)+6:][:36])
		return c.status("DELETE", "/role-bindings/"+id, "")
	}, "roles.manage", []int{204, 404, 409}},
	{"mint and revoke a key", 3, func(c *loadClient) (int, error) {
		s, b, err := c.send("POST", "/api-keys", `{"name":"load"}`)
		if s != 201 || err != nil {
			return s, err
		}
		id := string(b[strings.Index(string(b), `"id":"`)+6:][:36])
		return c.status("DELETE", "/api-keys/"+id, "")
	}, "apikeys.manage", []int{204}},
}

func runLoad(t *testing.T, w *world, d repo.Dialect, cfg loadConfig) {
	roles := []string{rbac.Owner, rbac.Admin, rbac.Member, rbac.Viewer}
	users := map[string]string{rbac.Owner: w.owner.UserID.String()}
	for _, role := range roles[1:] {
		m := w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/members", `{"email":"`+role+`@acme.test","role":"`+role+`"}`).json(t)
		users[role] = m["user_id"].(string)
	}
	pool := &projectPool{}
	for i := range 20 {
		pool.add(w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/projects", fmt.Sprintf(`{"name":"seed-%d"}`, i)).json(t)["id"].(string))
	}
	// A pool of connections as large as the clients: no reconnecting.
	transport := &http.Transport{MaxIdleConns: cfg.clients, MaxIdleConnsPerHost: cfg.clients}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	clients := make([]*loadClient, cfg.clients)
	for i := range clients {
		role := roles[i%len(roles)]
		k := w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/api-keys", fmt.Sprintf(`{"name":"client-%d","user_id":"%s"}`, i, users[role])).json(t)
		clients[i] = &loadClient{w: w, http: client, key: k["key"].(string), role: role, user: users[role],
			rng: rand.New(rand.NewPCG(uint64(i), 42)), index: i, pool: pool, target: users[rbac.Viewer]}
	}

	total := 0
	for _, op := range loadOps {
		total += op.weight
	}
	var (
		sent       atomic.Int64
		mu         sync.Mutex
		latencies  []time.Duration
		unexpected []string
		byStatus   = map[int]int{}
		wg         sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(cfg.duration)
	for _, c := range clients {
		wg.Go(func() {
			var lat []time.Duration
			statuses := map[int]int{}
			var bad []string
			for sent.Add(1) <= cfg.requests && time.Now().Before(deadline) {
				op := pickOp(c.rng, total)
				t0 := time.Now()
				status, err := op.do(c)
				lat = append(lat, time.Since(t0))
				statuses[status]++
				want := []int{403}
				if holds(c.role, op.perm) {
					want = op.ok
				}
				if err != nil || !slices.Contains(want, status) {
					bad = append(bad, fmt.Sprintf("%s as %s: status %d (want %v), %v", op.name, c.role, status, want, err))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, lat...)
			unexpected = append(unexpected, bad...)
			for s, n := range statuses {
				byStatus[s] += n
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	errors5xx := 0
	for s, n := range byStatus {
		if s >= 500 {
			errors5xx += n
		}
	}
	line := fmt.Sprintf("load %s: %d requests by %d clients in %v: %.0f req/s, p50 %v, p99 %v, max %v; 5xx %d, unexpected %d; statuses %v",
		d, len(latencies), cfg.clients, elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond),
		errors5xx, len(unexpected), byStatus)
	t.Log(line)
	fmt.Println(line)
	if len(unexpected) > 0 {
		t.Errorf("%d unexpected answers, the first: %v", len(unexpected), unexpected[:min(10, len(unexpected))])
	}
	if logs := w.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the server logged errors:\n%.3000s", logs)
	}
	report := w.must(200, w.ownerKey, "GET", "/v1/orgs/acme/audit-events/verify", "").json(t)
	if report["ok"] != true {
		t.Errorf("the audit chain after the load: %v", report)
	}
}

func pickOp(r *rand.Rand, total int) loadOp {
	n := r.IntN(total)
	for _, op := range loadOps {
		if n < op.weight {
			return op
		}
		n -= op.weight
	}
	panic("unreachable")
}
