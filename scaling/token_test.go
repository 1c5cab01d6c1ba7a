package scaling_test

import (
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
)

func TestTokenRoundTrip(t *testing.T) {
	for _, pos := range []uint64{1, 0x16B3748, 1 << 40, math.MaxUint64 - 1} {
		tok := scaling.TokenAt(pos)
		s := tok.String()
		if len(s) != 12 || strings.ContainsAny(s, "+/=") {
			t.Errorf("token %d is %q: want 12 base64url characters", pos, s)
		}
		got, err := scaling.ParseToken(s)
		if err != nil || got != tok || got.Position() != pos {
			t.Errorf("ParseToken(%q) = %v, %v; want position %d", s, got.Position(), err, pos)
		}
		var u scaling.Token
		if err := u.UnmarshalText([]byte(s)); err != nil || u != tok {
			t.Errorf("UnmarshalText(%q) = %v, %v", s, u, err)
		}
	}
	if s := (scaling.Token{}).String(); s != "" {
		t.Errorf("zero token is %q", s)
	}
}

func TestMalformedTokens(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for name, s := range map[string]string{
		"empty":         "",
		"not base64":    "!!!!????",
		"padded":        enc([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1}) + "=",
		"std alphabet":  "AQAAAAAAA+/A",
		"wrong version": enc([]byte{2, 0, 0, 0, 0, 0, 0, 0, 1}),
		"short":         enc([]byte{1, 0, 0, 1}),
		"long":          enc([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
		"zero position": enc([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}),
		"huge":          strings.Repeat("A", 10_000),
		"one char":      "A",
	} {
		_, err := scaling.ParseToken(s)
		var te *scaling.TokenError
		if !errors.As(err, &te) || !errors.Is(err, scaling.ErrMalformedToken) || !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: ParseToken(%.20q) = %v, want a *TokenError matching ErrMalformedToken and repo.ErrInvalid", name, s, err)
		}
	}
	var u scaling.Token
	if err := u.UnmarshalText(nil); err != nil || !u.IsZero() {
		t.Errorf("UnmarshalText of nothing: %v, %v", u, err)
	}
}

func TestTokenRecorder(t *testing.T) {
	ctx := t.Context()
	if scaling.Recording(ctx) || scaling.RecordToken(ctx, scaling.TokenAt(5)) {
		t.Fatal("a plain context records tokens")
	}
	if _, ok := scaling.TokenFrom(ctx); ok {
		t.Fatal("TokenFrom of a plain context reports a token")
	}
	ctx = scaling.WithTokenRecorder(ctx)
	if _, ok := scaling.TokenFrom(ctx); ok {
		t.Fatal("TokenFrom before any write reports a token")
	}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() { scaling.RecordToken(ctx, scaling.TokenAt(uint64(i+1))) })
	}
	wg.Wait()
	scaling.RecordToken(ctx, scaling.TokenAt(3)) // an older write does not go back
	if tok, ok := scaling.TokenFrom(ctx); !ok || tok.Position() != 64 {
		t.Fatalf("TokenFrom = %v, %v; want the latest, 64", tok.Position(), ok)
	}
}

func TestConsistency(t *testing.T) {
	if c := scaling.ConsistencyFrom(t.Context()); c.Mode() != scaling.ModeEventual {
		t.Fatalf("default consistency: %v", c)
	}
	tok := scaling.TokenAt(42)
	for _, c := range []scaling.Consistency{scaling.Strong(), scaling.Causal(tok), scaling.BoundedStaleness(5e9), scaling.Eventual()} {
		if got := scaling.ConsistencyFrom(scaling.WithConsistency(t.Context(), c)); got != c {
			t.Errorf("round trip of %v gave %v", c, got)
		}
	}
	if c := scaling.Causal(scaling.Token{}); c.Mode() != scaling.ModeEventual {
		t.Errorf("Causal(zero token) is %v, want eventual", c)
	}
	if s := scaling.BoundedStaleness(5e9).String(); s != "bounded-staleness(5s)" {
		t.Errorf("String: %q", s)
	}
}
