package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"

	"github.com/strata-go/strata/repo"
)

// SealerOptions tune a Sealer. The zero value is usable.
type SealerOptions struct {
	// Wake, when set, receives a value whenever events may have been queued
	// (pgrepo.DB.Queued): the sealer seals at once instead of at its next
	// Interval.
	Wake <-chan struct{}
	// Interval is how often the sealer looks for events that no wake-up
	// announced (queued by another process, or by one whose sealer
	// stopped); 0 means DefaultSealInterval. It also paces retries after an
	// error.
	Interval time.Duration
	// Linger is how long the sealer lets events gather after a wake-up
	// before it seals them: each round costs a transaction (a commit, which
	// on a primary with a synchronous standby waits for it), so sealing a
	// few dozen events at once rather than each alone keeps sealing cheap
	// while writes are busy. 0 means DefaultLinger; negative, none.
	Linger time.Duration
	// Log receives the errors of sealing rounds; nil discards them.
	Log *slog.Logger
	// OnSeal, when set, is called after every round that sealed events.
	OnSeal func(repo.SealReport)
}

// DefaultSealInterval is how often a Sealer looks for events queued
// elsewhere, and the longest an event waits for a sealer that was not woken.
const DefaultSealInterval = 100 * time.Millisecond

// DefaultLinger is the default of SealerOptions.Linger.
const DefaultLinger = 20 * time.Millisecond

// Sealer seals the events a repository queued, in the background: run one
// per server process. Each round seals a bounded batch in one transaction
// (repo.AuditEvents.SealPending); rounds follow each other while events
// remain, then the sealer waits for a wake-up or its interval. Several
// sealers on one database share the work: an org is sealed by one at a
// time, and a chain never forks. On a repository that seals in Append
// (SQLite) every round finds nothing to do.
type Sealer struct {
	events repo.AuditEvents
	opts   SealerOptions

	mu    sync.Mutex
	stats SealerStats
}

// SealerStats counts what a Sealer did.
type SealerStats struct {
	Sealed int64 // events sealed
	Rounds int64 // rounds that sealed events
	Errors int64 // rounds that failed
	// Delays counts the sealed events by the time between when they
	// occurred and when their seal committed, in the buckets of
	// DelayBuckets (the last counts the rest); DelaySum is the total.
	Delays   [len(DelayBuckets) + 1]int64
	DelaySum time.Duration
}

// DelayBuckets are the upper bounds of SealerStats.Delays.
var DelayBuckets = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, time.Minute,
}

// NewSealer returns a Sealer of events; start it with Run.
func NewSealer(events repo.AuditEvents, opts SealerOptions) *Sealer {
	if opts.Interval <= 0 {
		opts.Interval = DefaultSealInterval
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	return &Sealer{events: events, opts: opts}
}

// finalSeal bounds how long Run seals what is pending once its context
// ends.
const finalSeal = 5 * time.Second

// Run seals until ctx ends, then seals what is still pending (for up to
// finalSeal, so that a stopping server leaves as little as it can to the
// next one) and returns. It returns nothing but nil: a failed round is
// logged and tried again after the interval.
func (s *Sealer) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSeal)
			defer cancel()
			if _, err := s.SealAll(final); err != nil && s.opts.Log != nil {
				s.opts.Log.Warn("sealing audit events before stopping failed; the next process to run a sealer seals them", "err", err)
			}
			return nil
		case <-s.opts.Wake:
			if s.opts.Linger > 0 {
				timer.Reset(s.opts.Linger)
				select {
				case <-timer.C:
				case <-ctx.Done():
					continue // the final round seals them
				}
			}
		case <-timer.C:
		}
		if _, err := s.SealAll(ctx); err != nil && ctx.Err() == nil && s.opts.Log != nil {
			s.opts.Log.Warn("sealing audit events failed; trying again", "err", err, "in", s.opts.Interval)
		}
		timer.Reset(s.opts.Interval)
	}
}

// SealAll seals rounds until a round leaves nothing it could seal, and
// returns the number of events sealed. A tool that records events and
// exits (strata import) calls it before it does.
func (s *Sealer) SealAll(ctx context.Context) (int64, error) {
	var n int64
	for {
		rep, err := s.round(ctx)
		if err != nil {
			s.mu.Lock()
			s.stats.Errors++
			s.mu.Unlock()
			return n, err
		}
		n += int64(len(rep.Sealed))
		if len(rep.Sealed) > 0 {
			s.count(rep)
			if s.opts.OnSeal != nil {
				s.opts.OnSeal(rep)
			}
		}
		if !rep.More {
			return n, nil
		}
	}
}

// round is one SealPending call. A round that sealed events (or failed) is
// traced as a span of its own, audit.Seal, with the number of events sealed:
// sealing answers no request, and the rounds that find nothing, every
// interval, would only be noise. The span is made once the round is over,
// with the round's start, so the round's statements are not in it.
func (s *Sealer) round(ctx context.Context) (repo.SealReport, error) {
	start := time.Now()
	rep, err := s.events.SealPending(ctx, Seal)
	if !tracing.Off() && (len(rep.Sealed) > 0 || err != nil) {
		_, span := tracer.Start(context.WithoutCancel(ctx), "audit.Seal", trace.WithNewRoot(), trace.WithTimestamp(start))
		if span.IsRecording() {
			span.SetAttributes(attribute.Int("strata.audit.sealed", len(rep.Sealed)), attribute.Bool("strata.audit.more", rep.More))
		}
		_ = tracing.End(span, err)
	}
	return rep, err
}

// tracer makes the sealer's spans.
var tracer = otel.Tracer("github.com/strata-go/strata/enterprise/audit")

// count adds a round's events to the stats.
func (s *Sealer) count(rep repo.SealReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Rounds++
	s.stats.Sealed += int64(len(rep.Sealed))
	for _, ev := range rep.Sealed {
		d := rep.SealedAt.Sub(ev.OccurredAt)
		i := 0
		for i < len(DelayBuckets) && d > DelayBuckets[i] {
			i++
		}
		s.stats.Delays[i]++
		s.stats.DelaySum += d
	}
}

// Stats returns what the sealer did so far.
func (s *Sealer) Stats() SealerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// The sealer's metrics.
var (
	sealedDesc = prometheus.NewDesc("strata_audit_sealed_events_total",
		"Audit events this process sealed into their chains.", nil, nil)
	sealErrorsDesc = prometheus.NewDesc("strata_audit_seal_errors_total",
		"Sealing rounds that failed (and were tried again).", nil, nil)
	sealDelayDesc = prometheus.NewDesc("strata_audit_seal_delay_seconds",
		"Time from an audit event's recording to the commit of its seal, for the events this process sealed.", nil, nil)
	unsealedDesc = prometheus.NewDesc("strata_audit_unsealed_events",
		"Audit events committed and not yet sealed, every org's.", nil, nil)
	oldestUnsealedDesc = prometheus.NewDesc("strata_audit_oldest_unsealed_age_seconds",
		"Age of the oldest audit event not yet sealed (0 when none waits).", nil, nil)
)

// Collector returns the sealer's metrics as a prometheus.Collector: events
// sealed, failed rounds, the delay from an event's recording to its seal
// (a histogram), and, read from the database at each scrape, the events
// waiting now with the age of the oldest (every org's). Register it once
// per registry.
func (s *Sealer) Collector() prometheus.Collector { return sealerCollector{s} }

type sealerCollector struct{ s *Sealer }

func (c sealerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sealedDesc, sealErrorsDesc, sealDelayDesc, unsealedDesc, oldestUnsealedDesc} {
		ch <- d
	}
}

func (c sealerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(sealedDesc, prometheus.CounterValue, float64(st.Sealed))
	ch <- prometheus.MustNewConstMetric(sealErrorsDesc, prometheus.CounterValue, float64(st.Errors))
	buckets := make(map[float64]uint64, len(DelayBuckets))
	var cum uint64
	for i, b := range DelayBuckets {
		cum += uint64(st.Delays[i])
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(sealDelayDesc, uint64(st.Sealed), st.DelaySum.Seconds(), buckets)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b, err := c.s.events.Backlog(ctx, uuid.Nil)
	if err != nil {
		return // the database does not answer: the gauges are left out
	}
	age := 0.0
	if b.Pending > 0 {
		age = max(time.Since(b.OldestTime).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(unsealedDesc, prometheus.GaugeValue, float64(b.Pending))
	ch <- prometheus.MustNewConstMetric(oldestUnsealedDesc, prometheus.GaugeValue, age)
}
