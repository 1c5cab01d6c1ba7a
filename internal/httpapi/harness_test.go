package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/service"
)

// The caller every unit test authenticates as.
const (
	testKey       = "strata_0123456789abcdef0123456789abcdef_secretsecretsecretsecretsecretsecretsecr"
	testRequestID = "req-1"
	testRemote    = "192.0.2.1" // httptest.NewRequest's RemoteAddr host
)

var principal = service.Principal{
	OrgID:   uuid.MustParse("01900000-0000-7000-8000-000000000001"),
	UserID:  uuid.MustParse("01900000-0000-7000-8000-000000000002"),
	KeyID:   uuid.MustParse("01900000-0000-7000-8000-000000000003"),
	Request: service.Request{RemoteAddr: testRemote, RequestID: testRequestID},
}

// harness is the API over a mock Service, with its log captured.
type harness struct {
	t       *testing.T
	svc     *mocks.MockService
	rec     *mocks.MockServiceMockRecorder
	handler http.Handler
	logs    *syncBuffer
}

type option func(*httpapi.Config)

// newHarness builds the API over a strict mock: a call the test did not
// expect fails it. Unless told otherwise (noAuth), testKey authenticates
// as principal. The log must never show the key.
func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	ctrl := gomock.NewController(t)
	svc := mocks.NewMockService(ctrl)
	logs := &syncBuffer{}
	cfg := httpapi.Config{Service: svc, Log: slog.New(slog.NewJSONHandler(logs, nil)), DB: pingFunc(pingOK)}
	for _, o := range opts {
		o(&cfg)
	}
	h := &harness{t: t, svc: svc, rec: svc.EXPECT(), handler: httpapi.New(cfg), logs: logs}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testKey) || strings.Contains(logs.String(), "secretsecret") {
			t.Errorf("the log shows the API key:\n%s", logs.String())
		}
	})
	return h
}

// authOK makes testKey authenticate as principal, any number of times, from anywhere.
func (h *harness) authOK() *harness {
	h.rec.Authenticate(gomock.Any(), testKey, gomock.Any()).Return(principal, nil).AnyTimes()
	return h
}

func withMaxBody(n int64) option { return func(c *httpapi.Config) { c.MaxBodyBytes = n } }

// request is one request to send: JSON bodies get the JSON content type and
// every request the test key and request ID, unless the test sets others.
type request struct {
	method, path, body string
	header             http.Header
}

func (h *harness) do(req request) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	r.Header.Set("Authorization", "Bearer "+testKey)
	r.Header.Set("X-Request-ID", testRequestID)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

func (h *harness) get(path string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(request{method: http.MethodGet, path: path})
}

// apiErr is the JSON error body.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks w is a JSON error with status, code and field.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, field string) apiErr {
	t.Helper()
	var e apiErr
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if e.Error.Code != code || e.Error.Field != field {
		t.Errorf("error = %+v, want code %q field %q", e.Error, code, field)
	}
	if e.Error.Message == "" {
		t.Error("error without a message")
	}
	return e
}

// decodeBody decodes a JSON answer into a generic value.
func decodeBody[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// pingFunc is a Pinger.
type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func pingOK(context.Context) error { return nil }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
