package scaling_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
)

// FuzzParseToken: ParseToken never panics; it refuses with a *TokenError
// that is ErrMalformedToken and repo.ErrInvalid (so HTTP answers 400), and
// accepts only a non-zero token whose text form is the input (up to the
// line breaks base64 decoding skips, see TestTokenLineBreaks). Every
// non-zero token's text form parses back to it; UnmarshalText agrees.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "AQAAAAABa3NI", scaling.TokenAt(1).String(), scaling.PrimaryOnly().String(),
		"AgAAAAABa3NI", "AQAAAAAAAAAA", "AQAAAAABa3N", "AQAAAAABa3NI=", "AQAAAAA+a3NI", "AQAAAAA\nBa3NI", "!!!!",
		strings.Repeat("A", 65)} {
		f.Add(s, uint64(len(s)))
	}
	f.Add("", uint64(0x16B3748))
	f.Fuzz(func(t *testing.T, s string, pos uint64) {
		tok, err := scaling.ParseToken(s)
		var u scaling.Token
		uerr := u.UnmarshalText([]byte(s))
		if err != nil {
			var te *scaling.TokenError
			if !errors.As(err, &te) || !errors.Is(err, scaling.ErrMalformedToken) || !errors.Is(err, repo.ErrInvalid) {
				t.Fatalf("ParseToken(%q) = %v: want a *TokenError matching ErrMalformedToken and repo.ErrInvalid", s, err)
			}
			if (uerr == nil) != (s == "") {
				t.Fatalf("UnmarshalText(%q) = %v, but ParseToken refused it", s, uerr)
			}
		} else {
			if tok.IsZero() || tok.String() != strings.NewReplacer("\r", "", "\n", "").Replace(s) {
				t.Fatalf("ParseToken(%q) = %q (position %d)", s, tok.String(), tok.Position())
			}
			if uerr != nil || u != tok {
				t.Fatalf("UnmarshalText(%q) = %v, %v; ParseToken gave %v", s, u, uerr, tok)
			}
		}

		if pos == 0 {
			return
		}
		want := scaling.TokenAt(pos)
		text := want.String()
		got, err := scaling.ParseToken(text)
		if err != nil || got != want || got.Position() != pos || len(text) != 12 {
			t.Fatalf("TokenAt(%d) is %q, which parses to %d, %v", pos, text, got.Position(), err)
		}
		if m, _ := want.MarshalText(); string(m) != text {
			t.Fatalf("MarshalText = %q, String = %q", m, text)
		}
	})
}
