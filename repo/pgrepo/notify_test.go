package pgrepo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
)

// waitLimit bounds every wait for something that should happen promptly.
const waitLimit = 15 * time.Second

// note is one notification a watcher delivered, and when.
type note struct {
	org     uuid.UUID
	version int64
	at      time.Time
}

// watching is a PolicyWatcher's Watch running in the background.
type watching struct {
	notes  chan note // closed when Watch has returned
	err    error     // what Watch returned, once notes is closed
	cancel context.CancelFunc
}

// watch runs w.Watch until the test ends and waits until it is subscribed.
func watch(t *testing.T, w *pgrepo.PolicyWatcher) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	wt := &watching{notes: make(chan note, 1024), cancel: cancel}
	go func() {
		defer close(wt.notes)
		wt.err = w.Watch(ctx, func() { close(ready) }, func(org uuid.UUID, v int64) {
			wt.notes <- note{org, v, time.Now()}
		})
	}()
	t.Cleanup(func() { cancel(); wt.ended(t) })
	select {
	case <-ready:
	case <-time.After(waitLimit):
		t.Fatalf("Watch did not subscribe (%v)", wt.ended(t))
	}
	return wt
}

// receive returns the next notification, or false once Watch has returned.
func (wt *watching) receive(t *testing.T) (note, bool) {
	t.Helper()
	select {
	case n, ok := <-wt.notes:
		return n, ok
	case <-time.After(waitLimit):
		t.Fatal("no notification, and Watch has not returned")
	}
	return note{}, false
}

// expect checks that the next notification is of the org at version v.
func (wt *watching) expect(t *testing.T, org uuid.UUID, v int64) note {
	t.Helper()
	n, ok := wt.receive(t)
	if !ok {
		t.Fatalf("Watch returned: %v", wt.err)
	}
	if n.org != org || n.version != v {
		t.Fatalf("notification = %v:%d, want %v:%d", n.org, n.version, org, v)
	}
	return n
}

// ended waits for Watch to return, dropping notifications, and returns its
// error. It cancels Watch only after waitLimit (or when the test ends).
func (wt *watching) ended(t *testing.T) error {
	t.Helper()
	stop := time.AfterFunc(waitLimit, wt.cancel)
	defer stop.Stop()
	for range wt.notes {
	}
	return wt.err
}

func openPG(t *testing.T) *pgrepo.DB {
	t.Helper()
	return testdb.Open(t, repo.PostgreSQL).(*pgrepo.DB)
}

func newOrg(t *testing.T, db repo.Store) repo.Org {
	t.Helper()
	id := repo.NewID().String()
	o, err := db.Orgs().Create(t.Context(), repo.NewOrg{Slug: "org-" + id[len(id)-12:], Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// bump commits a policy version bump of the org and returns the new version.
func bump(t *testing.T, db repo.Store, org uuid.UUID) int64 {
	t.Helper()
	v, err := db.Orgs().BumpPolicyVersion(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exec(t *testing.T, db *pgrepo.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool().Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPolicyWatcherDeliversCommittedChangesOnly(t *testing.T) {
	db := openPG(t)
	ctx := t.Context()
	var logs bytes.Buffer // written by Watch before it delivers the next notification
	wt := watch(t, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	a, b := newOrg(t, db), newOrg(t, db)

	wt.expect(t, a.ID, bump(t, db, a.ID))

	// Two bumps in one transaction: both, in order, at the commit.
	var v1, v2 int64
	err := db.InTx(ctx, func(tx repo.Store) (err error) {
		if v1, err = tx.Orgs().BumpPolicyVersion(ctx, a.ID); err != nil {
			return err
		}
		v2, err = tx.Orgs().BumpPolicyVersion(ctx, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wt.expect(t, a.ID, v1)
	wt.expect(t, a.ID, v2)

	// Nothing for b from here on: a rolled-back bump, updates that leave the
	// version as it was, and a malformed payload (logged). Then a committed
	// bump of a, which must be the next notification.
	rollback := errors.New("rollback")
	err = db.InTx(ctx, func(tx repo.Store) error {
		if _, err := tx.Orgs().BumpPolicyVersion(ctx, b.ID); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	name := "Renamed"
	if _, err := db.Orgs().Update(ctx, b.ID, repo.OrgUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "UPDATE orgs SET policy_version = policy_version WHERE id = $1", b.ID)
	exec(t, db, "SELECT pg_notify($1, 'not-a-uuid:1'), pg_notify($1, $2)", pgrepo.PolicyChannel, b.ID.String()+":x")
	wt.expect(t, a.ID, bump(t, db, a.ID))
	for _, payload := range []string{"not-a-uuid:1", b.ID.String() + ":x"} {
		if !strings.Contains(logs.String(), payload) {
			t.Errorf("malformed payload %q not logged; log:\n%s", payload, &logs)
		}
	}
}

// TestPolicyWatcherLatency measures the time from a bump's commit returning
// to its notification being delivered, on one host.
func TestPolicyWatcherLatency(t *testing.T) {
	db := openPG(t)
	wt := watch(t, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{}))
	org := newOrg(t, db)
	const n = 200
	lat := make([]time.Duration, 0, n)
	for range n {
		v := bump(t, db, org.ID)
		committed := time.Now()
		got := wt.expect(t, org.ID, v)
		lat = append(lat, max(got.at.Sub(committed), 0)) // it may beat the commit's reply
	}
	slices.Sort(lat)
	t.Logf("commit -> notification over %d bumps: p50 %v, p90 %v, p99 %v, max %v",
		n, lat[n/2], lat[n*9/10], lat[n*99/100], lat[n-1])
}

func TestPolicyWatcherEnds(t *testing.T) {
	db := openPG(t)
	t.Run("terminated", func(t *testing.T) {
		wt := watch(t, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{}))
		var killed int
		err := db.Pool().QueryRow(t.Context(), `
			SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'strata policy watcher'`).Scan(&killed)
		if err != nil || killed != 1 {
			t.Fatalf("terminated %d listeners (%v), want 1", killed, err)
		}
		if err := wt.ended(t); !errors.Is(err, repo.ErrUnavailable) {
			t.Errorf("Watch = %v, want ErrUnavailable", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		wt := watch(t, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{}))
		wt.cancel()
		if err := wt.ended(t); !errors.Is(err, context.Canceled) {
			t.Errorf("Watch = %v, want context.Canceled", err)
		}
	})
}

// TestPolicyWatcherDetectsSilentConnection cuts the listener off without
// closing its connection (a proxy that stops forwarding): Watch must give up
// within two heartbeats, not wait for TCP to notice.
func TestPolicyWatcherDetectsSilentConnection(t *testing.T) {
	p := startProxy(t, testdb.PostgresURL(t))
	db, err := pgrepo.Open(t.Context(), p.url, pgrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const heartbeat = 200 * time.Millisecond
	wt := watch(t, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{Heartbeat: heartbeat}))
	org := newOrg(t, db)
	wt.expect(t, org.ID, bump(t, db, org.ID))

	p.frozen.Store(true)
	cut := time.Now()
	err = wt.ended(t)
	t.Logf("silent connection given up after %v (heartbeat %v): %v", time.Since(cut), heartbeat, err)
	if !errors.Is(err, repo.ErrUnavailable) {
		t.Errorf("Watch = %v, want ErrUnavailable", err)
	}
}

// proxy forwards TCP connections to a PostgreSQL server until frozen, then
// silently drops everything in both directions, keeping the connections open.
type proxy struct {
	url    string // the database URL, through the proxy
	frozen atomic.Bool
}

func startProxy(t *testing.T, dbURL string) *proxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = ln.Addr().String()
	p := &proxy{url: u.String()}
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
		wg     sync.WaitGroup
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		defer dst.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if p.frozen.Load() {
				continue
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			if closed {
				c.Close()
				s.Close()
			} else {
				conns = append(conns, c, s)
				wg.Add(2)
				go pipe(s, c)
				go pipe(c, s)
			}
			mu.Unlock()
		}
	}()
	return p
}
