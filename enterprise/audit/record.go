package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"math"

	"github.com/strata-go/strata/repo"
)

// Record appends ev to its org's audit chain inside tx, the transaction of
// the change it records, so that the event commits if and only if the change
// does. Pass the Store that InTx handed to the transaction's function, not
// the database's own Store: Record cannot tell the two apart, and an event
// appended outside the change's transaction survives the change's rollback.
//
// The chain's next sequence number, the previous hash and the hash are filled
// in by the repository (with Seal), and so are an empty ID, OccurredAt and
// Metadata; an empty Outcome means repo.OutcomeSuccess. Every text field must
// be valid UTF-8 without NUL bytes, so that the stored bytes survive an
// export unchanged; anything else is an ErrInvalid error naming the field,
// and nothing is appended. Record returns the event as stored.
func Record(ctx context.Context, tx repo.Store, ev repo.AuditEvent) (repo.AuditEvent, error) {
	if ev.Outcome == "" {
		ev.Outcome = repo.OutcomeSuccess
	}
	if err := validateText(&ev); err != nil {
		return repo.AuditEvent{}, err
	}
	return tx.AuditEvents().Append(ctx, ev, Seal)
}

// RecordDenied records an attempt that authorization refused: ev with
// Outcome repo.OutcomeDenied, appended in a transaction of its own
// (store.InTx), so that it commits even though the attempt itself fails.
// Pass the database's Store, not a transaction's: on a Store already in a
// transaction InTx joins that transaction, and the event would roll back with
// it. Otherwise RecordDenied is Record.
func RecordDenied(ctx context.Context, store repo.Store, ev repo.AuditEvent) (repo.AuditEvent, error) {
	ev.Outcome = repo.OutcomeDenied
	var out repo.AuditEvent
	err := store.InTx(ctx, func(tx repo.Store) error {
		var err error
		out, err = Record(ctx, tx, ev)
		return err
	})
	if err != nil {
		return repo.AuditEvent{}, err
	}
	return out, nil
}

// validateText checks that every text field of ev can be exported as it is
// stored: valid UTF-8 (a JSON or CSV writer would replace anything else) and
// free of NUL (which PostgreSQL cannot store in text, while SQLite can).
func validateText(ev *repo.AuditEvent) error {
	for _, f := range [...]struct{ name, value string }{
		{"actor_id", ev.ActorID}, {"action", ev.Action}, {"target_type", ev.TargetType},
		{"target_id", ev.TargetID}, {"metadata", ev.Metadata}, {"remote_addr", ev.RemoteAddr},
		{"request_id", ev.RequestID},
	} {
		if err := repo.ValidateText(f.name, f.value, false, math.MaxInt); err != nil {
			return err
		}
	}
	return nil
}

// Changes returns the metadata of an update event: the JSON object
// {"before":{...},"after":{...}} holding the changed fields' old and new
// values, with keys sorted and without HTML escaping. A nil map is written as
// {}. It fails only for a value encoding/json cannot encode.
//
//	meta, err := audit.Changes(
//		map[string]any{"name": old.Name},
//		map[string]any{"name": p.Name},
//	)
func Changes(before, after map[string]any) (string, error) {
	if before == nil {
		before = map[string]any{}
	}
	if after == nil {
		after = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}{before, after})
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}
