package repo

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/strata-go/strata/internal/tracing"
)

// RetryPolicy bounds how InTx runs a transaction again after a retryable error.
type RetryPolicy struct {
	MaxAttempts int           // total runs, including the first
	BaseDelay   time.Duration // backoff before the second run; doubles each time
	MaxDelay    time.Duration // cap on one backoff
}

// DefaultRetryPolicy is what adapters use unless told otherwise.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 8, BaseDelay: 2 * time.Millisecond, MaxDelay: 250 * time.Millisecond}

// tracer makes the spans of retries.
var tracer = otel.Tracer("github.com/strata-go/strata/repo")

// Do runs attempt until it returns nil or an error that is not retryable
// (IsRetryable), the attempts run out, or ctx ends. Between runs it sleeps a
// random time up to an exponentially growing bound ("full jitter"). Under
// a recording span, each wait before a run again is a "repo.retry" span
// naming the run to come (repo.retry.attempt, 2 for the first retry) and
// the error that made it necessary.
func (p RetryPolicy) Do(ctx context.Context, attempt func() error) error {
	var err error
	bound := p.BaseDelay
	for i := 0; ; i++ {
		err = attempt()
		if err == nil || !IsRetryable(err) || i+1 >= p.MaxAttempts {
			return err
		}
		d := time.Duration(0)
		if bound > 0 {
			d = time.Duration(rand.Int64N(int64(bound)) + 1)
		}
		_, span := tracing.Child(ctx, tracer, "repo.retry")
		if span.IsRecording() {
			span.SetAttributes(attribute.Int("repo.retry.attempt", i+2), attribute.String("repo.retry.error", err.Error()),
				attribute.Int64("repo.retry.backoff_us", d.Microseconds()))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			span.End()
			return err
		case <-t.C:
		}
		span.End()
		if bound < p.MaxDelay {
			bound = min(bound*2, p.MaxDelay)
		}
	}
}
