package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// URLEnv names the environment variable that, when set, gives the URL
	// of an existing PostgreSQL server to use instead of an ephemeral
	// cluster, e.g. postgres://postgres:secret@localhost:5432/postgres.
	// The URL's database is used for administration; its role must be
	// able to create databases (a superuser is simplest). Test databases
	// are dropped after each test, but template databases (named
	// tmpl_<hash of Template.ID>) are kept for later runs; to remove one,
	// run ALTER DATABASE ... IS_TEMPLATE false, then DROP DATABASE.
	URLEnv = "STRATA_TEST_POSTGRES_URL"

	// RequireEnv names the environment variable that, when set to 1 (or
	// another true value), makes tests fail rather than skip when no
	// PostgreSQL server can be had. Set it in CI.
	RequireEnv = "STRATA_TEST_REQUIRE_POSTGRES"
)

const (
	// startTimeout bounds the start of the shared server and of clusters
	// made by NewCluster.
	startTimeout = time.Minute
	// buildTimeout bounds the building of one template database.
	buildTimeout = 10 * time.Minute
	// adminTimeout bounds creating or dropping one test database.
	adminTimeout = time.Minute
)

// Server is a PostgreSQL server on which tests create databases: the
// external server named by [URLEnv], or an ephemeral [Cluster]. Its
// methods are safe for concurrent use.
type Server struct {
	admin         *url.URL // where administrative statements are run
	cluster       *Cluster // nil for an external server
	createOptions string   // appended to CREATE DATABASE

	mu        sync.Mutex
	templates map[string]*templateDB // by Template.ID
}

// templateDB is the state of one template database on a Server.
type templateDB struct {
	name string
	once sync.Once
	err  error
}

// Template describes a template database from which [NewDatabase] clones
// test databases. The template is built once per server: once per test
// process on an ephemeral cluster, once ever on an external server, where
// it is found again by its ID on later runs.
type Template struct {
	// ID identifies what Build produces. It must change whenever that
	// changes, or an external server will keep serving the old template:
	// include a version or a hash of the migrations (see [HashFS]).
	ID string

	// Build populates the new, empty database at url, typically by
	// running migrations. It must close its connections before
	// returning; any left open are terminated.
	Build func(ctx context.Context, url string) error
}

// shared is the process-wide server behind SharedServer.
var shared struct {
	mu     sync.Mutex
	opened bool
	srv    *Server
	err    error
	// fatal marks an error that must fail tests even without RequireEnv
	// (a broken URLEnv), as opposed to PostgreSQL being unavailable.
	fatal bool
}

// SharedServer returns the server shared by all tests of the process,
// starting it on first use: the server at [URLEnv] if set, else an
// ephemeral [Cluster] that [Main] stops when the tests are done.
//
// If no ephemeral cluster can be started (PostgreSQL is not installed, or
// fails to start), SharedServer skips the test, or fails it if
// [RequireEnv] is set. A server at URLEnv that cannot be used always
// fails the test.
func SharedServer(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.opened {
		shared.opened = true
		shared.srv, shared.fatal, shared.err = openShared()
	}
	if shared.err != nil {
		if shared.fatal {
			tb.Fatalf("pgtest: %v", shared.err)
		}
		unavailable(tb, shared.err)
	}
	return shared.srv
}

// openShared opens the shared server.
func openShared() (srv *Server, fatal bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if raw := os.Getenv(URLEnv); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, true, fmt.Errorf("%s must be a postgres:// URL", URLEnv)
		}
		s := &Server{admin: u}
		if err := s.init(ctx); err != nil {
			return nil, true, fmt.Errorf("using %s: %w", URLEnv, err)
		}
		return s, false, nil
	}
	c, err := Start(ctx)
	if err != nil {
		return nil, false, err
	}
	u, err := url.Parse(c.URL("postgres"))
	s := &Server{admin: u, cluster: c}
	if err == nil {
		err = s.init(ctx)
	}
	if err != nil {
		c.Stop()
		return nil, true, err
	}
	return s, false, nil
}

// init checks that the server can be used and looks at its version.
func (s *Server) init(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var version int
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version)
	if err != nil {
		return err
	}
	// Since PostgreSQL 15, CREATE DATABASE copies through the WAL by
	// default (WAL_LOG). Copying files, the only way before, is about
	// twice as fast for a small template and writes far less WAL.
	if version >= 150000 {
		s.createOptions = " STRATEGY FILE_COPY"
	}
	return nil
}

// unavailable skips tb, or fails it if RequireEnv is set, because
// PostgreSQL cannot be had.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if required, _ := strconv.ParseBool(os.Getenv(RequireEnv)); required {
		tb.Fatalf("%v (failing: %s is set)", err, RequireEnv)
	}
	tb.Skipf("%v (skipping: set %s=1 to fail instead)", err, RequireEnv)
}

// Main runs the tests of m and then stops the shared server's ephemeral
// cluster, if one was started, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without it the cluster still dies with the test process, but its
// temporary files are only removed by a later test run.
func Main(m *testing.M) {
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// stopShared stops the shared server's cluster, if any.
func stopShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil || shared.srv.cluster == nil {
		return nil
	}
	return shared.srv.cluster.Stop()
}

// NewCluster starts a dedicated [Cluster] for tb and stops it when tb
// ends; use it for tests that restart, crash or replicate a server. Like
// [SharedServer], it skips tb if PostgreSQL is unavailable unless
// [RequireEnv] is set.
func NewCluster(tb testing.TB) *Cluster { return NewClusterWith(tb) }

// NewClusterWith is [NewCluster] with server settings that override the
// defaults, e.g. [Durable].
func NewClusterWith(tb testing.TB, settings ...string) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := StartWith(ctx, settings...)
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// NewReplica starts a streaming replica of primary for tb (see
// [Cluster.StartReplica]) and stops it when tb ends, whatever state the test
// left it in; tb fails if the replica cannot start.
func NewReplica(tb testing.TB, primary *Cluster) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	r, err := primary.StartReplica(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Stop() })
	return r
}

// NewDatabase creates a fresh database on the [SharedServer], cloned from
// tmpl, and returns its URL; the database is dropped when tb ends. See
// [Server.NewDatabase].
func NewDatabase(tb testing.TB, tmpl Template) string {
	tb.Helper()
	return SharedServer(tb).NewDatabase(tb, tmpl)
}

// URL returns the URL of database dbname on the server.
func (s *Server) URL(dbname string) string {
	u := *s.admin
	u.Path = "/" + dbname
	u.RawPath = ""
	return u.String()
}

// Cluster returns the server's ephemeral cluster, or nil if the server is
// external.
func (s *Server) Cluster() *Cluster { return s.cluster }

// NewDatabase creates a fresh database for tb, cloned from tmpl, and
// returns its URL; the database is dropped (with FORCE) when tb ends.
// The template is built on first use; if building it fails, every test
// using it fails. The zero Template gives an empty database.
func (s *Server) NewDatabase(tb testing.TB, tmpl Template) string {
	tb.Helper()
	name := "test_" + randomHex(6)
	create := "CREATE DATABASE " + quoteIdent(name) + s.createOptions
	if tmpl.ID != "" || tmpl.Build != nil {
		tmplName, err := s.template(tmpl)
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		create += " TEMPLATE " + quoteIdent(tmplName)
	}
	if err := s.exec(create); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s.URL(name)
}

// exec runs one administrative statement on a new connection.
func (s *Server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// template returns the name of the template database for tmpl, building
// it if this process has not yet.
func (s *Server) template(tmpl Template) (string, error) {
	if tmpl.ID == "" || tmpl.Build == nil {
		return "", errors.New("Template needs both an ID and a Build function")
	}
	s.mu.Lock()
	if s.templates == nil {
		s.templates = make(map[string]*templateDB)
	}
	t := s.templates[tmpl.ID]
	if t == nil {
		sum := sha256.Sum256([]byte(tmpl.ID))
		t = &templateDB{name: "tmpl_" + hex.EncodeToString(sum[:8])}
		s.templates[tmpl.ID] = t
	}
	s.mu.Unlock()

	t.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if err := s.buildTemplate(ctx, t.name, tmpl.Build); err != nil {
			t.err = fmt.Errorf("template %q (database %s): %w", tmpl.ID, t.name, err)
		}
	})
	return t.name, t.err
}

// buildTemplate creates template database name with build, unless a
// complete one already exists (built by an earlier or concurrent test
// process on an external server). A template is complete once marked
// IS_TEMPLATE; processes serialize on an advisory lock while checking and
// building.
func (s *Server) buildTemplate(ctx context.Context, name string, build func(context.Context, string) error) error {
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background()) // also releases the lock

	sum := sha256.Sum256([]byte("strata pgtest template " + name))
	lockKey := int64(binary.BigEndian.Uint64(sum[:8]))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey)

	exec := func(sql string, args ...any) error {
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
		return nil
	}
	ident := quoteIdent(name)
	var complete bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&complete)
	switch {
	case err == nil && complete:
		return nil
	case err == nil: // left over from a build that failed half-way
		if err := exec("DROP DATABASE " + ident + " WITH (FORCE)"); err != nil {
			return err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}

	if err := exec("CREATE DATABASE " + ident); err != nil {
		return err
	}
	if err := build(ctx, s.URL(name)); err != nil {
		return errors.Join(err, exec("DROP DATABASE "+ident+" WITH (FORCE)"))
	}
	// Nobody may connect to (and so change, or block cloning of) the
	// finished template.
	if err := exec("ALTER DATABASE " + ident + " WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	err = exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	if err != nil {
		return err
	}
	return exec("ALTER DATABASE " + ident + " WITH IS_TEMPLATE true")
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// HashFS returns a hash of the names and contents of all regular files in
// fsys, for use in a [Template.ID], e.g. HashFS(migrationsFS) where
// migrationsFS is an embed.FS holding migrations.
func HashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
