// Package scaling routes Strata's reads between a primary database and its
// replicas, in the process, for both dialects: one generic Router holds the
// policy, and a small Driver per dialect probes nodes and classifies errors
// (package pgscale for PostgreSQL over pgx pools, package sqlitescale for
// SQLite over database/sql). This package imports no database driver.
//
// # Routing
//
// Writes and transactions always go to the primary. A read outside a
// transaction asks Router.Read for a node, and the consistency of its
// context decides which (see Router.Read for the order of preference):
//
//	ctx = scaling.WithConsistency(ctx, scaling.Strong())                 // the primary
//	ctx = scaling.WithConsistency(ctx, scaling.Causal(tok))              // has applied tok
//	ctx = scaling.WithConsistency(ctx, scaling.BoundedStaleness(5*time.Second))
//	// no consistency: Eventual, any healthy replica within the lag limits
//
// Replicas are chosen healthy first, then within the lag limits
// (Config.MaxLagBytes, Config.MaxLag), then in the router's region
// (Config.Region), then with the lowest probe latency, then with the fewest
// reads in flight of two drawn at random by weight; when none qualifies,
// the primary serves the read.
//
// # Health
//
// Each node has a probe loop (Config.ProbeInterval). On PostgreSQL the probe
// asks pg_is_in_recovery(), the replay position (pg_last_wal_replay_lsn())
// or, on the primary, the current one, and the replay lag: the age of the
// last replayed transaction while received WAL waits to be replayed, else
// zero, since an idle primary writes nothing and the age alone would grow
// without any lag; byte lag against the primary's position covers a replica
// that receives nothing. The probe's round trip feeds a latency average. A
// node that fails a probe, or a replica on which a read fails because it is
// unreachable, is ejected: reads avoid it, its pool is reset, and it is
// probed again after a backoff that doubles while it keeps failing, then
// re-admitted. A replica that is down when the router starts joins when it
// comes up. A failed read on an ejected replica is retried on another node.
//
// # Read your writes
//
// After a write commits, the adapter can read the primary's WAL position
// and turn it into a Token: opaque, versioned, URL-safe text (Token.String,
// ParseToken; a malformed token is a *TokenError, which matches
// repo.ErrInvalid, so HTTP answers 400). An HTTP layer does:
//
//	ctx := scaling.WithTokenRecorder(r.Context())      // writes record their token
//	... the write ...
//	if tok, ok := scaling.TokenFrom(ctx); ok {
//		w.Header().Set("Strata-Consistency-Token", tok.String())
//	}
//
// and, for a request carrying that header:
//
//	tok, err := scaling.ParseToken(r.Header.Get("Strata-Consistency-Token"))
//	if err != nil { ... 400 ... }
//	ctx = scaling.WithConsistency(ctx, scaling.Causal(tok))
//
// Recording costs one round trip to the primary per write, only for
// contexts made by WithTokenRecorder. Reads made with a context that has
// recorded tokens are at least causal up to them, so a request that writes
// and then reads sees its write. Unlike a fixed "read from the primary for
// N seconds after a write", this costs nothing when replicas keep up: a
// causal read waits for a replica at most Config.CausalWait, probing it
// meanwhile, then takes the primary.
//
// # SQLite
//
// SQLite has one file and no replicas. package sqlitescale puts the same
// Router over it: the primary is the single writer connection (BEGIN
// IMMEDIATE, so the process never races itself for the write lock), the one
// replica is the pool of read-only connections on the same WAL file. Every
// reader sees every committed write, so every consistency mode is trivially
// satisfied: the reader pool is marked InSync, serves strong, causal and
// bounded reads alike, never lags, and writes record no token (TokenFrom
// reports none; a token sent by a client is accepted and satisfied at once).
// The probe is trivial (no I/O).
//
// # Failover of the primary
//
// The router does not promote replicas. Pair it with an HA manager (Patroni,
// pg_auto_failover, a cloud provider's managed failover) and give the primary
// URL every candidate host with target_session_attrs=read-write:
//
//	postgres://app@db1:5432,db2:5432,db3:5432/strata?target_session_attrs=read-write
//
// pgx tries the hosts in order and keeps the one that accepts writes, for
// every new connection. When the HA manager promotes a standby, connections
// to the old primary fail (the pool discards them), the primary's probe
// fails and reconnects, and new connections find the new primary.
//
// Meanwhile nothing fails at once (PostgreSQL): a statement that needs the
// primary and finds none writable (it is unreachable, shutting down,
// starting up, in recovery, or answers 25006 read_only_sql_transaction, as
// a demoted primary behind a proxy does on the connections it kept) waits
// for one, up to Config.PrimaryWait (default 15s) and never past its
// context's deadline, then runs again: a routed read that goes to the
// primary (strong, or when no replica qualifies) here in package pgscale,
// and a transaction in package pgrepo, which runs it again only when it
// cannot have committed (see pgrepo's primary.go). The waiters share one
// probe of the primary URL at a time, every 50ms at most
// (pgscale.PrimaryWait). Reads that replicas may serve go on being served
// by them. With a planned switchover, clients see slow requests, not
// errors; with an unplanned failover, a request fails only if no primary
// appeared within its wait. Alternatively point the URL at
// the HA manager's stable endpoint (Patroni behind HAProxy or a Kubernetes
// service, pg_auto_failover's multi-host URL from pg_autoctl show uri, a DNS
// name the cloud moves). List as replicas the standbys that serve reads
// (Patroni's replica endpoint, say): a former primary that rejoins as a
// standby is admitted again once its probe finds it in recovery, and a
// replica that is promoted is ejected (it is not in recovery any more) until
// it is a standby again.
//
// # Metrics
//
// Router.Collector is a prometheus.Collector read at scrape time: per node
// (labels node, role, region) up, reads routed, read errors, ejections, reads in flight, replay
// lag in bytes and seconds, probe latency and pool statistics, and causal
// reads by outcome.
package scaling
