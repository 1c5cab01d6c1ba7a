package scaling

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"sync/atomic"

	"github.com/strata-go/strata/repo"
)

// A Token is a consistency token: an opaque, versioned position in the
// primary's write history (on PostgreSQL, a WAL position). A read that
// carries one (Causal) is served only by a node that has applied the
// history at least that far, so a client that sends back the token of its
// last write reads its own writes, even from a replica.
//
// Its text form (String, ParseToken) is URL- and header-safe. The zero
// Token is no token: it is satisfied everywhere.
type Token struct{ pos uint64 }

// tokenVersion is the first byte of every token; a different layout gets a
// different version, and old servers refuse tokens they cannot read.
const tokenVersion = 1

// tokenLen is the length of a version-1 token: version byte + 8-byte position.
const tokenLen = 1 + 8

// maxTokenText bounds the text ParseToken decodes.
const maxTokenText = 64

// TokenAt returns the token of position pos (on PostgreSQL, an LSN).
func TokenAt(pos uint64) Token { return Token{pos} }

// primaryOnlyToken is a token no replica ever satisfies: adapters record it
// when a write succeeded but its position could not be read.
var primaryOnlyToken = Token{math.MaxUint64}

// PrimaryOnly returns a token that only the primary satisfies, for a write
// whose position is unknown (reads that carry it go to the primary at once).
func PrimaryOnly() Token { return primaryOnlyToken }

// Position returns the position the token stands for.
func (t Token) Position() uint64 { return t.pos }

// IsZero reports whether t is the zero Token (no token).
func (t Token) IsZero() bool { return t.pos == 0 }

// String returns the token's text form: base64url, unpadded, of a version
// byte and the big-endian position. The zero Token gives "".
func (t Token) String() string {
	if t.IsZero() {
		return ""
	}
	var b [tokenLen]byte
	b[0] = tokenVersion
	binary.BigEndian.PutUint64(b[1:], t.pos)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// MarshalText implements encoding.TextMarshaler.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseToken accepts, and the empty text as the zero Token.
func (t *Token) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*t = Token{}
		return nil
	}
	tok, err := ParseToken(string(text))
	if err != nil {
		return err
	}
	*t = tok
	return nil
}

// ErrMalformedToken is what errors.Is finds in every error of ParseToken.
var ErrMalformedToken = errors.New("malformed consistency token")

// TokenError is the error ParseToken returns. It matches ErrMalformedToken
// and repo.ErrInvalid with errors.Is, so that an HTTP layer mapping the repo
// vocabulary answers 400.
type TokenError struct {
	Reason string // what is wrong, e.g. "unknown version 7"
}

func (e *TokenError) Error() string { return "scaling: " + ErrMalformedToken.Error() + ": " + e.Reason }

// Is reports whether target is ErrMalformedToken or repo.ErrInvalid.
func (e *TokenError) Is(target error) bool {
	return target == ErrMalformedToken || target == repo.ErrInvalid
}

// ParseToken parses the text form of a token (Token.String). Malformed
// input, including the empty string, gives a *TokenError.
func ParseToken(s string) (Token, error) {
	switch {
	case s == "":
		return Token{}, &TokenError{Reason: "empty"}
	case len(s) > maxTokenText:
		return Token{}, &TokenError{Reason: "too long"}
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	switch {
	case err != nil || len(b) == 0:
		return Token{}, &TokenError{Reason: "not base64url"}
	case b[0] != tokenVersion:
		return Token{}, &TokenError{Reason: "unknown version"}
	case len(b) != tokenLen:
		return Token{}, &TokenError{Reason: "wrong length"}
	}
	t := Token{binary.BigEndian.Uint64(b[1:])}
	if t.IsZero() {
		return Token{}, &TokenError{Reason: "zero position"}
	}
	return t, nil
}

// recorder collects the tokens of the writes made with one context.
type recorder struct{ pos atomic.Uint64 }

type recorderKey struct{}

// WithTokenRecorder returns a context in which the writes made through a
// router-backed database record their consistency token; TokenFrom returns
// the latest. An HTTP layer wraps each request's context with it and sends
// TokenFrom's token back. Recording costs a round trip to the primary per
// write, and only with this context.
//
// Reads made later with the same context are served at least as fresh as
// those writes (see Router.Read), so a request reads its own writes.
func WithTokenRecorder(ctx context.Context) context.Context {
	return context.WithValue(ctx, recorderKey{}, &recorder{})
}

// Recording reports whether ctx carries a token recorder.
func Recording(ctx context.Context) bool { return recorderOf(ctx) != nil }

// RecordToken records t in ctx's recorder, keeping the latest token, and
// reports whether ctx has a recorder. Adapters call it after a write
// commits; the zero Token is ignored.
func RecordToken(ctx context.Context, t Token) bool {
	rec := recorderOf(ctx)
	if rec == nil {
		return false
	}
	for {
		old := rec.pos.Load()
		if t.pos <= old || rec.pos.CompareAndSwap(old, t.pos) {
			return true
		}
	}
}

// TokenFrom returns the latest token recorded in ctx, and false if ctx has
// no recorder or no write recorded one (on SQLite, writes record none: every
// read there sees every committed write).
func TokenFrom(ctx context.Context) (Token, bool) {
	rec := recorderOf(ctx)
	if rec == nil {
		return Token{}, false
	}
	t := Token{rec.pos.Load()}
	return t, !t.IsZero()
}

func recorderOf(ctx context.Context) *recorder {
	rec, _ := ctx.Value(recorderKey{}).(*recorder)
	return rec
}
