package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-go/strata/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// widgetBuilds counts the builds of the widgets template.
var widgetBuilds atomic.Int32

var widgets = pgtest.Template{
	ID: "pgtest-self-test-widgets-v1",
	Build: func(ctx context.Context, url string) error {
		widgetBuilds.Add(1)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `
			CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);
			INSERT INTO widgets VALUES (1, 'from template');`)
		return err
	},
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func dbName(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestNewDatabase(t *testing.T) {
	url1 := pgtest.NewDatabase(t, widgets)
	url2 := pgtest.NewDatabase(t, widgets)
	if url1 == url2 {
		t.Fatalf("two databases with the same URL %s", url1)
	}
	db1, db2 := connect(t, url1), connect(t, url2)
	for _, conn := range []*pgx.Conn{db1, db2} {
		if n := count(t, conn, "widgets"); n != 1 {
			t.Fatalf("new database has %d widgets, want the template's 1", n)
		}
	}

	mustExec(t, db1, "INSERT INTO widgets VALUES (2, 'only in db1')")
	mustExec(t, db2, "CREATE TABLE gadgets (id int)")
	if n := count(t, db1, "widgets"); n != 2 {
		t.Errorf("db1 has %d widgets, want 2", n)
	}
	if n := count(t, db2, "widgets"); n != 1 {
		t.Errorf("db2 has %d widgets, want 1: databases are not independent", n)
	}
	if _, err := db1.Exec(context.Background(), "SELECT FROM gadgets"); err == nil {
		t.Error("table created in db2 is visible in db1")
	}
	if n := widgetBuilds.Load(); n > 1 {
		t.Errorf("template built %d times, want at most once", n)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	for i := range 8 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.NewDatabase(t, widgets))
			mustExec(t, conn, "INSERT INTO widgets VALUES ($1, 'mine')", 100+i)
			if n := count(t, conn, "widgets"); n != 2 {
				t.Errorf("got %d widgets, want 2", n)
			}
		})
	}
	t.Cleanup(func() {
		if n := widgetBuilds.Load(); n > 1 {
			t.Errorf("template built %d times, want at most once", n)
		}
	})
}

func TestNewDatabaseEmptyAndDropped(t *testing.T) {
	srv := pgtest.SharedServer(t)
	var name string
	t.Run("create", func(t *testing.T) {
		dbURL := srv.NewDatabase(t, pgtest.Template{})
		name = dbName(t, dbURL)
		var tables int
		err := connect(t, dbURL).QueryRow(context.Background(),
			"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables)
		if err != nil || tables != 0 {
			t.Fatalf("empty database has %d tables (err %v)", tables, err)
		}
	})
	var exists bool
	err := connect(t, srv.URL("postgres")).QueryRow(context.Background(),
		"SELECT exists(SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	primary := pgtest.NewCluster(t)
	replica, err := primary.StartReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := replica.Stop(); err != nil {
			t.Error(err)
		}
	})
	if replica.Port() == primary.Port() {
		t.Fatalf("replica and primary share port %d", replica.Port())
	}

	pc := connect(t, primary.URL("postgres"))
	mustExec(t, pc, "CREATE TABLE t (x int)")
	mustExec(t, pc, "INSERT INTO t VALUES (1)")
	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	rc := connect(t, replica.URL("postgres"))
	if n := count(t, rc, "t"); n != 1 {
		t.Fatalf("replica has %d rows, want 1", n)
	}
	if _, err := rc.Exec(ctx, "INSERT INTO t VALUES (0)"); err == nil {
		t.Error("write on replica succeeded")
	}

	// Paused: the replica receives the write but does not apply it.
	if err := replica.PauseReplay(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pc, "BEGIN; SET LOCAL synchronous_commit = on; INSERT INTO t VALUES (2); COMMIT")
	var target string
	if err := pc.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	for received := false; !received; {
		err := rc.QueryRow(ctx, "SELECT coalesce(pg_last_wal_receive_lsn() >= $1::pg_lsn, false)", target).Scan(&received)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := count(t, rc, "t"); n != 1 {
		t.Fatalf("paused replica has %d rows, want 1", n)
	}
	if err := replica.ResumeReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, rc, "t"); n != 2 {
		t.Fatalf("resumed replica has %d rows, want 2", n)
	}

	// The replica goes away (cleanly, then by crashing) and comes back.
	rc.Close(ctx)
	if err := replica.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	replica.Kill()
	mustExec(t, pc, "INSERT INTO t VALUES (3)")
	if err := replica.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, connect(t, replica.URL("postgres")), "t"); n != 3 {
		t.Fatalf("restarted replica has %d rows, want 3", n)
	}

	// The primary crashes and recovers; rows flushed by WaitForReplay
	// survive.
	pc.Close(ctx)
	primary.Kill()
	if err := primary.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, connect(t, primary.URL("postgres")), "t"); n != 3 {
		t.Fatalf("recovered primary has %d rows, want 3", n)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the failure and
// ends the goroutine, like the real one, without failing the test.
type fatalRecorder struct {
	testing.TB
	failure string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatal runs f with a fatalRecorder wrapping t and returns the failure.
func fatal(t *testing.T, f func(tb testing.TB)) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failure
}

func TestTemplateBuildFails(t *testing.T) {
	srv := pgtest.SharedServer(t)
	var builds int
	broken := pgtest.Template{
		ID: "pgtest-self-test-broken-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Build: func(ctx context.Context, url string) error {
			builds++
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				return err
			}
			// Left open on purpose: the failed template must still be dropped.
			_, err = conn.Exec(ctx, "CREATE TABLE half (x int)")
			return errors.Join(err, errors.New("migration 2 is broken"))
		},
	}
	for range 2 {
		msg := fatal(t, func(tb testing.TB) { srv.NewDatabase(tb, broken) })
		if !strings.Contains(msg, "migration 2 is broken") {
			t.Errorf("NewDatabase failure = %q, want the build error", msg)
		}
	}
	if builds != 1 {
		t.Errorf("failed template built %d times, want 1", builds)
	}
	var leftovers int
	err := connect(t, srv.URL("postgres")).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname LIKE 'tmpl\\_%' AND NOT datistemplate").Scan(&leftovers)
	if err != nil {
		t.Fatal(err)
	}
	if leftovers != 0 {
		t.Errorf("%d incomplete template databases left behind", leftovers)
	}
}

func TestHashFS(t *testing.T) {
	fsys := fstest.MapFS{
		"001_init.up.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"002_more.up.sql": {Data: []byte("CREATE TABLE b (x int);")},
	}
	h1, err := pgtest.HashFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if h2, _ := pgtest.HashFS(fsys); h2 != h1 {
		t.Errorf("HashFS not deterministic: %s != %s", h1, h2)
	}
	fsys["002_more.up.sql"].Data = []byte("CREATE TABLE b (y int);")
	if h3, _ := pgtest.HashFS(fsys); h3 == h1 {
		t.Error("HashFS did not change when a file changed")
	}
}
