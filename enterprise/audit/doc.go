// Package audit keeps Strata's tamper-evident audit trail: it records one
// hash-chained event per mutation inside the mutation's own transaction,
// verifies an org's chain, and exports it as JSONL or CSV that an outside
// tool can verify without the database.
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
//	report, err := audit.Verify(ctx, db.AuditEvents(), orgID, audit.VerifyOptions{})
//	if err == nil && !report.OK {
//		log.Printf("audit chain broken at seq %d: %s", report.FirstBad, report.Message)
//	}
//
// Each event's hash is SHA-256(prev_hash || Canonical(event)), where prev_hash
// is the hash of the event before it (32 zero bytes for seq 1). FORMAT.md in
// this directory specifies the canonical encoding and the export formats, with
// a worked example and a short Python script that verifies an export.
//
// The package speaks only the repo interfaces, so both dialects get the same
// guarantees; the database adds its own: UPDATE and DELETE on the event table
// are refused by triggers, and an inserted event must extend its org's head
// (the next seq, linked to the head's hash), which the insert then moves, so
// appends to one org's chain are serialized on the org's head row. On
// PostgreSQL an append costs no round trip of its own: the repository seals
// the event against the head it last committed and sends the INSERT with
// the transaction's COMMIT; should another process have moved the head
// meanwhile, the database refuses the event and the transaction is retried.
//
// What the chain proves: an event cannot be changed, removed, moved or
// inserted without breaking a link, and the tail cannot be cut without
// disagreeing with the org's recorded head. What it cannot prove on its own:
// someone able to rewrite the whole table and the head row can re-seal a
// consistent forged chain, since the hash has no secret. Keep Report.LastSeq
// and Report.LastHash (or an export's last hash) somewhere the database's
// administrators cannot write, and pass them back as VerifyOptions.Head.
package audit
