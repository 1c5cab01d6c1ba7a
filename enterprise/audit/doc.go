// Package audit keeps Strata's tamper-evident audit trail: it records one
// event per mutation inside the mutation's own transaction, seals the events
// into a hash chain per org shortly after they commit, verifies a chain, and
// exports it as JSONL or CSV that an outside tool can verify without the
// database.
//
//	err := store.InTx(ctx, func(tx repo.Store) error {
//		p, err := tx.Projects().Create(ctx, orgID, repo.NewProject{Name: "apollo"})
//		if err != nil {
//			return err // rolls back: no event
//		}
//		_, err = audit.Record(ctx, tx, repo.AuditEvent{
//			OrgID: orgID, ActorType: repo.ActorUser, ActorID: userID.String(),
//			Action: "project.create", TargetType: "project", TargetID: p.ID.String(),
//		})
//		return err // the event commits if and only if the project does
//	})
//
//	go audit.NewSealer(db.AuditEvents(), audit.SealerOptions{Wake: pg.Queued()}).Run(ctx)
//
//	report, err := audit.Verify(ctx, db.AuditEvents(), orgID, audit.VerifyOptions{})
//	if err == nil && !report.OK {
//		log.Printf("audit chain broken at seq %d: %s", report.FirstBad, report.Message)
//	}
//
// # The chain
//
// Each sealed event has a sequence number (1, 2, 3, ... per org, without
// gaps) and a hash, SHA-256(prev_hash || Canonical(event)), where prev_hash
// is the hash of the event before it (32 zero bytes for seq 1). FORMAT.md in
// this directory specifies the canonical encoding and the export formats,
// with worked examples and a short Python script that verifies an export.
//
// What the chain proves: a sealed event cannot be changed, removed, moved or
// inserted without breaking a link, and the tail cannot be cut without
// disagreeing with the org's recorded head. What it cannot prove on its own:
// someone able to rewrite the whole table and the head row can re-seal a
// consistent forged chain, since the hash has no secret. Keep Report.LastSeq
// and Report.LastHash (or an export's last hash) somewhere the database's
// administrators cannot write, and pass them back as VerifyOptions.Head.
//
// # Recording and sealing
//
// Recording an event (Record) and sealing it are two steps, so that writers
// never wait for each other on the chain: an audited mutation costs one
// plain insert and takes no lock another writer of the same org needs until
// its commit returns. Sealing covers events with the org's head in batches,
// after the commit, the way transparency logs integrate queued leaves; a
// Sealer (one per server process) does it within a fraction of a second.
// On PostgreSQL the mutation queues its event, and the sealer seals each
// org's queued events in one transaction that locks the org's head, so that
// at most one process seals an org at a time and a chain never forks; a
// sealer killed mid-batch leaves nothing half sealed, and whatever process
// runs a sealer next seals what it left. On SQLite, whose single writer
// serializes every transaction anyway, the mutation links its event into
// the chain at once (its seq and hashes) and the sealer moves the head over
// the linked events: one page written per batch rather than per mutation.
//
// The database adds its own guards, both dialects: UPDATE and DELETE on
// sealed events are refused by triggers, and so are events that do not
// extend their chain and heads that move back or to an event the chain
// lacks; on PostgreSQL the queue refuses UPDATE, TRUNCATE and any DELETE but
// the sealer's, which must leave the events, unchanged and in order, as the
// last of their chain.
//
// # The unsealed window
//
// Between its commit and its seal (a fraction of a second while a sealer
// runs; SealerStats and the strata_audit_* metrics show how long) an event
// is durable and immutable through Strata, but the chain does not vouch for
// it yet: it is not in List, Head or exports, and someone with the power to
// bypass the tables' triggers could delete it (from PostgreSQL's queue, or
// from the end of a SQLite chain, past its head) without leaving a trace in
// any chain. Once sealed, it has the chain's whole protection.
// Verify reports the events waiting (Report.Backlog) and fails when the
// oldest has waited longer than VerifyOptions.MaxPending (a minute by
// default), so that a stopped sealer or a queue that someone tampered with,
// by holding back events, does not pass quietly.
package audit
