package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/strata-go/strata/scaling"
)

// The headers of read-your-writes consistency.
const (
	// TokenHeader carries a consistency token: on every write response (when
	// the database hands out tokens), and on a request that must see that
	// write (a causal read).
	TokenHeader = "Strata-Consistency-Token"
	// ConsistencyHeader asks for a consistency mode: "strong" (the primary),
	// "eventual" (the default), or "max-staleness=DURATION" (e.g. 5s).
	ConsistencyHeader = "Strata-Consistency"
)

// withConsistency reads the request's consistency headers into its context
// and makes the context record the tokens of the writes it makes.
func withConsistency(r *http.Request) (context.Context, error) {
	ctx := scaling.WithTokenRecorder(r.Context())
	if mode := strings.TrimSpace(r.Header.Get(ConsistencyHeader)); mode != "" {
		c, err := parseConsistency(mode)
		if err != nil {
			return nil, err
		}
		ctx = scaling.WithConsistency(ctx, c)
	}
	if raw := r.Header.Get(TokenHeader); raw != "" {
		tok, err := scaling.ParseToken(strings.TrimSpace(raw))
		if err != nil {
			return nil, &apiError{status: http.StatusBadRequest, code: "invalid", field: TokenHeader,
				message: "malformed consistency token: send back the " + TokenHeader + " header of a write response as it is"}
		}
		ctx = scaling.WithConsistency(ctx, scaling.Causal(tok))
	}
	return ctx, nil
}

func parseConsistency(mode string) (scaling.Consistency, error) {
	switch {
	case mode == "strong":
		return scaling.Strong(), nil
	case mode == "eventual":
		return scaling.Eventual(), nil
	case strings.HasPrefix(mode, "max-staleness="):
		d, err := time.ParseDuration(strings.TrimPrefix(mode, "max-staleness="))
		if err == nil && d > 0 {
			return scaling.BoundedStaleness(d), nil
		}
	}
	return scaling.Consistency{}, &apiError{status: http.StatusBadRequest, code: "invalid", field: ConsistencyHeader,
		message: `want "strong", "eventual" or "max-staleness=DURATION" (e.g. max-staleness=5s)`}
}

// tokenWriter adds the consistency token of the request's writes to the
// response headers just before they are sent.
type tokenWriter struct {
	http.ResponseWriter
	ctx         context.Context
	wroteHeader bool
}

func (w *tokenWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if tok, ok := scaling.TokenFrom(w.ctx); ok && !tok.IsZero() {
			w.Header().Set(TokenHeader, tok.String())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *tokenWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed exports flush through the wrapper.
func (w *tokenWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *tokenWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
