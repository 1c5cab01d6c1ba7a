package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"log/slog"
	"math/bits"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/poll"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/service"
)

var keyForm = regexp.MustCompile(`^strata_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$`)

// newKey creates an API key through the API as the owner and returns the
// key and its ID.
func (w *world) newKey(body string) (key, id string) {
	w.t.Helper()
	k := w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/api-keys", body).json(w.t)
	return k["key"].(string), k["id"].(string)
}

// TestAPIKeyEntropy makes keys through the API: each is
// strata_<its ID in hex>_<43 base64url characters> whose secret is 32 random
// bytes (256 bits, over the 128 required), all distinct, with about as many
// one bits as zero bits overall.
func TestAPIKeyEntropy(t *testing.T) {
	w := newWorld(t)
	const n = 64
	seen := map[string]bool{}
	ones := 0
	for i := range n {
		key, id := w.newKey(fmt.Sprintf(`{"name":"k%d"}`, i))
		m := keyForm.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("key %q is not of the form strata_<32 hex>_<43 base64url>", key)
		}
		if uid := uuid.MustParse(id); m[1] != hex.EncodeToString(uid[:]) {
			t.Errorf("key %q does not carry its ID %s", key, id)
		}
		secret, err := base64.RawURLEncoding.DecodeString(m[2])
		if err != nil || len(secret) != 32 || base64.RawURLEncoding.EncodeToString(secret) != m[2] {
			t.Fatalf("secret %q: %d bytes, %v; want 32 bytes in canonical base64url", m[2], len(secret), err)
		}
		if seen[m[2]] {
			t.Fatalf("secret %q issued twice", m[2])
		}
		seen[m[2]] = true
		for _, b := range secret {
			ones += bits.OnesCount8(b)
		}
	}
	// 64 × 256 bits: 8192 ones expected, standard deviation 64.
	if ones < 8192-6*64 || ones > 8192+6*64 {
		t.Errorf("%d one bits in %d random bits: not random", ones, n*256)
	}
}

// TestAPIKeyStoredOnlyAsHash reads every row of every table of the
// database after keys were made, used and revoked: no cell holds a secret,
// in text or as bytes, and each key's row holds the SHA-256 of its secret.
func TestAPIKeyStoredOnlyAsHash(t *testing.T) {
	w := newWorld(t)
	keys := []string{w.ownerKey}
	for i := range 5 {
		key, id := w.newKey(fmt.Sprintf(`{"name":"k%d","expires_at":"2999-01-01T00:00:00Z"}`, i))
		w.must(200, key, "GET", "/v1/orgs/acme", "")
		if i%2 == 0 {
			w.must(204, w.ownerKey, "DELETE", "/v1/orgs/acme/api-keys/"+id, "")
		}
		keys = append(keys, key)
	}

	sqlDB := w.db.(*sqliterepo.DB).Reader()
	tables, err := sqlDB.QueryContext(w.ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var name string
		tables.Scan(&name)
		names = append(names, name)
	}
	tables.Close()
	var cells [][]byte
	for _, name := range names {
		rows, err := sqlDB.QueryContext(w.ctx, `SELECT * FROM "`+name+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				cells = append(cells, fmt.Append(nil, v))
				if b, ok := v.([]byte); ok {
					cells = append(cells, b)
				}
			}
		}
		rows.Close()
	}
	if len(cells) < 100 {
		t.Fatalf("read only %d cells from %v", len(cells), names)
	}
	for _, key := range keys {
		secret := key[len(key)-43:]
		raw, _ := base64.RawURLEncoding.DecodeString(secret)
		for _, c := range cells {
			if bytes.Contains(c, []byte(secret)) || bytes.Contains(c, raw) || bytes.Contains(c, []byte(key)) {
				t.Fatalf("the database holds the secret of %s.. in %q", key[:20], c)
			}
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(key, "strata_"), "_")
		var hash []byte
		if err := sqlDB.QueryRowContext(w.ctx, `SELECT secret_hash FROM api_keys WHERE id = ?`, uuidOf(t, id).String()).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(secret)); !bytes.Equal(hash, sum[:]) {
			t.Errorf("stored hash %x, want SHA-256 of the secret %x", hash, sum)
		}
	}
}

func uuidOf(t *testing.T, hexID string) uuid.UUID {
	t.Helper()
	b, err := hex.DecodeString(hexID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestAPIKeyComparisonIsConstantTime reviews the service's code, where keys
// are checked: the stored hash is compared with subtle.ConstantTimeCompare,
// and nothing compares a secret or a hash with ==, bytes.Equal or the like.
// Then it tries the real key's ID with near-miss secrets: all refused.
func TestAPIKeyComparisonIsConstantTime(t *testing.T) {
	files, err := filepath.Glob("../../service/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("service sources: %v %v", files, err)
	}
	fset := token.NewFileSet()
	text := func(n ast.Node) string {
		var b strings.Builder
		printer.Fprint(&b, fset, n)
		return b.String()
	}
	sensitive := regexp.MustCompile(`(?i)secret|hash`)
	constantTime := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && sensitive.MatchString(text(n.X)+text(n.Y)) && !harmless(n) {
					t.Errorf("%s: %s compares a secret or hash with %s", fset.Position(n.Pos()), text(n), n.Op)
				}
			case *ast.CallExpr:
				fn := text(n.Fun)
				args := ""
				for _, a := range n.Args {
					args += text(a)
				}
				switch {
				case fn == "subtle.ConstantTimeCompare" && sensitive.MatchString(args):
					constantTime++
				case (fn == "bytes.Equal" || fn == "bytes.Compare" || fn == "reflect.DeepEqual" || fn == "strings.EqualFold" ||
					fn == "slices.Equal") && sensitive.MatchString(args):
					t.Errorf("%s: %s compares a secret or hash in variable time", fset.Position(n.Pos()), text(n))
				}
			}
			return true
		})
	}
	if constantTime == 0 {
		t.Error("no subtle.ConstantTimeCompare of a secret's hash in package service")
	}

	w := newWorld(t)
	key, _ := w.newKey(`{"name":"real"}`)
	w.must(200, key, "GET", "/v1/orgs/acme", "")
	prefix, secret := key[:len(key)-43], key[len(key)-43:]
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for _, bad := range []string{
		prefix + flip(secret, 0), prefix + flip(secret, 21), prefix + flip(secret, 42),
		prefix + secret[:42], prefix + secret + "A", prefix, prefix + strings.Repeat("A", 43),
		strings.ToUpper(key[:7]) + key[7:], "strata_" + strings.Repeat("0", 32) + "_" + secret,
	} {
		if a := w.call(bad, "GET", "/v1/orgs/acme", ""); a.status != 401 {
			t.Errorf("near miss %q: %d, want 401", bad, a.status)
		}
	}
}

// harmless reports whether a comparison reveals nothing of a secret: one
// with nil, of a length, or of subtle.ConstantTimeCompare's answer.
func harmless(b *ast.BinaryExpr) bool {
	for _, e := range []ast.Expr{b.X, b.Y} {
		if id, ok := e.(*ast.Ident); ok && id.Name == "nil" {
			return true
		}
		c, ok := e.(*ast.CallExpr)
		if !ok {
			continue
		}
		if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "len" {
			return true
		}
		if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
			return true
		}
	}
	return false
}

// TestExpiredKeyRefusedAtOnce moves the service's clock past a key's expiry:
// the very next request with it is refused.
func TestExpiredKeyRefusedAtOnce(t *testing.T) {
	clock := newFakeClock()
	w := newWorldWith(t, worldOptions{now: clock.Now})
	expiry := clock.Now().Add(time.Hour)
	key, _ := w.newKey(`{"name":"short","expires_at":"` + expiry.Format(time.RFC3339) + `"}`)
	w.must(200, key, "GET", "/v1/orgs/acme", "")
	clock.Advance(time.Hour - time.Microsecond)
	w.must(200, key, "GET", "/v1/orgs/acme/projects", "")
	clock.Advance(time.Microsecond)
	w.must(401, key, "GET", "/v1/orgs/acme", "")
	w.must(401, key, "GET", "/v1/orgs/acme/projects", "")
	// Refused for creating keys that expire in the past, too.
	w.must(400, w.ownerKey, "POST", "/v1/orgs/acme/api-keys", `{"name":"old","expires_at":"`+clock.Now().Format(time.RFC3339)+`"}`)
}

// TestRevokeUnderLoad revokes a key while clients hammer the API with it:
// no request sent after the revocation was acknowledged succeeds. It
// revokes once requests have succeeded with the key, and stops once
// enough requests sent after the revocation have been answered.
func TestRevokeUnderLoad(t *testing.T) {
	const clients, checked = 8, 200
	w := newWorld(t)
	key, id := w.newKey(`{"name":"busy"}`)
	var revoked atomic.Bool
	var late, before, after atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sentAfter := revoked.Load()
				status, err := w.status(key, "GET", "/v1/orgs/acme/projects")
				switch {
				case err != nil:
					t.Error(err)
					return
				case sentAfter:
					after.Add(1)
					if status != 401 {
						late.Add(1)
					}
				case status == 200:
					before.Add(1)
				}
			}
		})
	}
	// A failed client stops counting: end the wait rather than time out.
	poll.Until(t, "requests to succeed with the key", func() bool { return before.Load() >= clients || t.Failed() })
	w.must(204, w.ownerKey, "DELETE", "/v1/orgs/acme/api-keys/"+id, "")
	revoked.Store(true)
	poll.Until(t, "requests sent after the revocation", func() bool { return after.Load() >= checked || t.Failed() })
	close(stop)
	wg.Wait()
	if late.Load() != 0 || before.Load() == 0 || after.Load() < checked {
		t.Errorf("%d of %d requests sent after the revocation succeeded (and %d before it)", late.Load(), after.Load(), before.Load())
	}
}

// status sends a request and returns its status, safe to call from many
// goroutines (it does not fail the test itself).
func (w *world) status(key, method, path string) (int, error) {
	req, err := http.NewRequest(method, w.srv.URL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := w.srv.Client().Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// TestSecretsNeverLogged runs the API through keys being made, used, used
// wrongly, revoked and rate-limited, with the log at debug level, and looks
// for every key issued in the log: neither the key, nor its secret, nor
// the secret's hash may appear.
func TestSecretsNeverLogged(t *testing.T) {
	w := newWorldWith(t, worldOptions{level: slog.LevelDebug, config: func(c *httpapi.Config) {
		c.RateLimit.PerKey.PerSecond, c.RateLimit.PerKey.Burst = 1, 30
	}})
	keys := []string{w.ownerKey}
	viewer := w.addMember(rbac.Viewer)
	for i := range 4 {
		body := fmt.Sprintf(`{"name":"k%d"}`, i)
		if i%2 == 1 {
			body = fmt.Sprintf(`{"name":"k%d","user_id":"%s"}`, i, viewer)
		}
		key, id := w.newKey(body)
		keys = append(keys, key)
		w.must(200, key, "GET", "/v1/orgs/acme", "")
		w.call(key, "DELETE", "/v1/orgs/acme/projects/"+uuid.NewString(), "")
		w.call(key, "POST", "/v1/orgs/acme/projects", `{"name":`)
		w.call(key, "GET", "/v1/orgs/acme/nowhere", "")
		w.call(key+"x", "GET", "/v1/orgs/acme", "")
		w.call(key[:len(key)-1], "GET", "/v1/orgs/acme", "")
		if i < 2 {
			w.must(204, w.ownerKey, "DELETE", "/v1/orgs/acme/api-keys/"+id, "")
			w.must(401, key, "GET", "/v1/orgs/acme", "")
		}
	}
	_, other, err := w.svc.Bootstrap(w.ctx, service.BootstrapInput{OrgSlug: "globex", Email: "boss@globex.test"}, service.Request{})
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, other.Secret)
	w.must(404, other.Secret, "GET", "/v1/orgs/acme", "")
	for range 40 { // into the rate limit
		w.call(other.Secret, "GET", "/v1/orgs/globex", "")
	}
	w.must(429, other.Secret, "GET", "/v1/orgs/globex", "")
	w.must(200, w.ownerKey, "GET", "/v1/orgs/acme/audit-events/export?format=jsonl", "")

	logs := w.logs.String()
	if !strings.Contains(logs, `"status":429`) || !strings.Contains(logs, `"status":401`) {
		t.Fatalf("the log did not capture the run:\n%.2000s", logs)
	}
	for _, key := range keys {
		secret := key[len(key)-43:]
		raw, _ := base64.RawURLEncoding.DecodeString(secret)
		sum := sha256.Sum256([]byte(secret))
		for _, s := range []string{key, secret, hex.EncodeToString(raw), hex.EncodeToString(sum[:]),
			base64.StdEncoding.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(raw)} {
			if strings.Contains(logs, s) {
				t.Errorf("the log shows %q (of key %s..)", s, key[:20])
			}
		}
	}
	trail := string(w.must(200, w.ownerKey, "GET", "/v1/orgs/acme/audit-events?limit=500", "").body)
	for _, key := range keys {
		if strings.Contains(trail, key[len(key)-43:]) {
			t.Errorf("the audit trail shows the secret of %s..", key[:20])
		}
	}
}
