package scaling

import (
	"context"
	"fmt"
	"time"
)

// Mode is a read consistency mode.
type Mode uint8

const (
	// ModeEventual: any healthy replica within the lag limits (the default).
	ModeEventual Mode = iota
	// ModeStrong: the primary, which has every committed write.
	ModeStrong
	// ModeCausal: a node that has applied the writes up to a token.
	ModeCausal
	// ModeBoundedStaleness: a node whose data is at most a given age.
	ModeBoundedStaleness
)

func (m Mode) String() string {
	switch m {
	case ModeEventual:
		return "eventual"
	case ModeStrong:
		return "strong"
	case ModeCausal:
		return "causal"
	case ModeBoundedStaleness:
		return "bounded-staleness"
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// Consistency is what a read requires of the node that serves it. Build one
// with Eventual, Strong, Causal or BoundedStaleness and attach it to a
// context with WithConsistency; the zero value is Eventual.
type Consistency struct {
	mode  Mode
	token Token
	bound time.Duration
}

// Eventual reads from any healthy replica within the configured lag limits,
// or the primary when none qualifies.
func Eventual() Consistency { return Consistency{} }

// Strong reads from the primary (on SQLite, from any reader: they all see
// every committed write).
func Strong() Consistency { return Consistency{mode: ModeStrong} }

// Causal reads from a node that has applied the writes up to t: a replica
// that has, waiting up to Config.CausalWait for one to catch up, else the
// primary. The zero Token makes it Eventual.
func Causal(t Token) Consistency {
	if t.IsZero() {
		return Eventual()
	}
	return Consistency{mode: ModeCausal, token: t}
}

// BoundedStaleness reads from a node whose data is at most maxAge old: a
// replica whose replay lag plus the age of its last probe is within maxAge,
// else the primary. It never waits. Bounds shorter than Config.ProbeInterval
// mostly go to the primary, since a replica's freshness is only known as of
// its last probe.
func BoundedStaleness(maxAge time.Duration) Consistency {
	return Consistency{mode: ModeBoundedStaleness, bound: max(maxAge, 0)}
}

// Mode returns the consistency mode.
func (c Consistency) Mode() Mode { return c.mode }

// Token returns the token of a Causal consistency.
func (c Consistency) Token() Token { return c.token }

// MaxStaleness returns the bound of a BoundedStaleness consistency.
func (c Consistency) MaxStaleness() time.Duration { return c.bound }

func (c Consistency) String() string {
	switch c.mode {
	case ModeCausal:
		return "causal(" + c.token.String() + ")"
	case ModeBoundedStaleness:
		return "bounded-staleness(" + c.bound.String() + ")"
	}
	return c.mode.String()
}

type consistencyKey struct{}

// WithConsistency returns a context whose reads require c.
func WithConsistency(ctx context.Context, c Consistency) context.Context {
	return context.WithValue(ctx, consistencyKey{}, c)
}

// ConsistencyFrom returns the consistency ctx asks for: the one set by
// WithConsistency, else Eventual. (Reads also honour the tokens recorded in
// ctx; see Router.Read.)
func ConsistencyFrom(ctx context.Context) Consistency {
	c, _ := ctx.Value(consistencyKey{}).(Consistency)
	return c
}

// effective is the consistency a read with ctx needs: ConsistencyFrom, made
// at least causal up to the writes recorded in ctx (read your own writes
// within a request).
func effective(ctx context.Context) Consistency {
	c := ConsistencyFrom(ctx)
	if c.mode == ModeStrong {
		return c
	}
	if rec := recorderOf(ctx); rec != nil {
		if pos := rec.pos.Load(); pos > c.token.pos {
			c.token = Token{pos}
			if c.mode == ModeEventual {
				c.mode = ModeCausal
			}
		}
	}
	return c
}
