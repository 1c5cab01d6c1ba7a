package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
)

// appendLikeRepo makes Append behave as the repositories do: fill in Seq and
// PrevHash, seal, and return the event. It hands each event it sees to check.
func appendLikeRepo(t *testing.T, check func(repo.AuditEvent)) func(context.Context, repo.AuditEvent, repo.Sealer) (repo.AuditEvent, error) {
	return func(_ context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
		check(ev)
		ev.Seq, ev.PrevHash = 8, bytes.Repeat([]byte{3}, 32)
		ev.Hash = seal(&ev)
		if want := audit.Seal(&ev); !bytes.Equal(ev.Hash, want) {
			t.Errorf("the sealer passed to Append is not audit.Seal")
		}
		return ev, nil
	}
}

func projectEvent(orgID uuid.UUID) repo.AuditEvent {
	return repo.AuditEvent{
		OrgID: orgID, ActorType: repo.ActorUser, ActorID: "u-1", Action: "project.create",
		TargetType: "project", TargetID: "p-1", RemoteAddr: "198.51.100.4", RequestID: "r-1",
	}
}

// TestRecordUsesTheCallersTransaction: Record appends through the Store it
// is given and never opens a transaction of its own.
func TestRecordUsesTheCallersTransaction(t *testing.T) {
	ctrl := gomock.NewController(t)
	tx, events := mocks.NewMockStore(ctrl), mocks.NewMockAuditEvents(ctrl)
	orgID := repo.NewID()

	tx.EXPECT().AuditEvents().Return(events)
	// No InTx expectation on tx: a call would fail the test.
	events.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(appendLikeRepo(t, func(ev repo.AuditEvent) {
		if ev.OrgID != orgID || ev.Action != "project.create" || ev.Outcome != repo.OutcomeSuccess {
			t.Errorf("appended %+v, want the caller's event with outcome success", ev)
		}
	}))

	got, err := audit.Record(t.Context(), tx, projectEvent(orgID))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 8 || len(got.Hash) != 32 || got.Outcome != repo.OutcomeSuccess {
		t.Errorf("Record returned %+v, want the stored event", got)
	}
}

func TestRecordKeepsAnOutcome(t *testing.T) {
	ctrl := gomock.NewController(t)
	tx, events := mocks.NewMockStore(ctrl), mocks.NewMockAuditEvents(ctrl)
	tx.EXPECT().AuditEvents().Return(events)
	events.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(appendLikeRepo(t, func(ev repo.AuditEvent) {
		if ev.Outcome != repo.OutcomeDenied {
			t.Errorf("outcome %q, want denied", ev.Outcome)
		}
	}))
	ev := projectEvent(repo.NewID())
	ev.Outcome = repo.OutcomeDenied
	if _, err := audit.Record(t.Context(), tx, ev); err != nil {
		t.Fatal(err)
	}
}

func TestRecordPassesAppendErrorsOn(t *testing.T) {
	ctrl := gomock.NewController(t)
	tx, events := mocks.NewMockStore(ctrl), mocks.NewMockAuditEvents(ctrl)
	tx.EXPECT().AuditEvents().Return(events)
	events.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).Return(repo.AuditEvent{}, repo.NotFound("org"))
	if _, err := audit.Record(t.Context(), tx, projectEvent(repo.NewID())); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// TestRecordRefusesUnexportableText: text that an export could not
// reproduce byte for byte is refused before anything is appended.
func TestRecordRefusesUnexportableText(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*repo.AuditEvent)
	}{
		{"actor_id", func(ev *repo.AuditEvent) { ev.ActorID = "\xff" }},
		{"target_id", func(ev *repo.AuditEvent) { ev.TargetID = "a\x00b" }},
		{"metadata", func(ev *repo.AuditEvent) { ev.Metadata = "{\"a\":\"\xc3\"}" }},
		{"request_id", func(ev *repo.AuditEvent) { ev.RequestID = "\xed\xa0\x80" }}, // a UTF-16 surrogate
	} {
		ctrl := gomock.NewController(t)
		tx := mocks.NewMockStore(ctrl) // no expectations: nothing may be called
		ev := projectEvent(repo.NewID())
		tc.edit(&ev)
		_, err := audit.Record(t.Context(), tx, ev)
		if !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != tc.field {
			t.Errorf("%s: err = %v, want ErrInvalid naming %s", tc.field, err, tc.field)
		}
	}
}

// expectInTx makes store.InTx run its function against tx, the way a real
// Store runs it against a transaction-bound Store, and return its error.
func expectInTx(store *mocks.MockStore, tx repo.Store) *gomock.Call {
	return store.EXPECT().InTx(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, fn func(repo.Store) error) error { return fn(tx) })
}

// TestRecordDeniedRunsItsOwnTransaction: a denied attempt is appended inside
// a transaction RecordDenied opens on the Store it is given, through the
// transaction's Store, with outcome denied whatever the caller set.
func TestRecordDeniedRunsItsOwnTransaction(t *testing.T) {
	ctrl := gomock.NewController(t)
	store, tx, events := mocks.NewMockStore(ctrl), mocks.NewMockStore(ctrl), mocks.NewMockAuditEvents(ctrl)
	// No AuditEvents expectation on store: appending outside the
	// transaction would fail the test.
	inTx := expectInTx(store, tx)
	tx.EXPECT().AuditEvents().Return(events).After(inTx)
	events.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(appendLikeRepo(t, func(ev repo.AuditEvent) {
		if ev.Outcome != repo.OutcomeDenied || ev.Action != "project.create" {
			t.Errorf("appended %+v, want a denied project.create", ev)
		}
	}))

	ev := projectEvent(repo.NewID())
	ev.Outcome = repo.OutcomeSuccess
	got, err := audit.RecordDenied(t.Context(), store, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != repo.OutcomeDenied || got.Seq != 8 {
		t.Errorf("RecordDenied returned %+v", got)
	}
}

func TestRecordDeniedRollsBackOnError(t *testing.T) {
	ctrl := gomock.NewController(t)
	store, tx, events := mocks.NewMockStore(ctrl), mocks.NewMockStore(ctrl), mocks.NewMockAuditEvents(ctrl)
	busy := &repo.Error{Kind: repo.ErrUnavailable, Message: "database is busy"}
	var fnErr error
	store.EXPECT().InTx(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, fn func(repo.Store) error) error {
		fnErr = fn(tx)
		return fnErr
	})
	tx.EXPECT().AuditEvents().Return(events)
	events.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).Return(repo.AuditEvent{}, busy)

	got, err := audit.RecordDenied(t.Context(), store, projectEvent(repo.NewID()))
	if !errors.Is(err, repo.ErrUnavailable) || !errors.Is(fnErr, repo.ErrUnavailable) || got.Seq != 0 {
		t.Errorf("RecordDenied = %+v, %v (transaction saw %v); want the error, passed to InTx to roll back", got, err, fnErr)
	}
}

func TestChanges(t *testing.T) {
	got, err := audit.Changes(
		map[string]any{"name": "gemini", "description": "<old> & \"quoted\"", "archived": false},
		map[string]any{"name": "apollo", "archived": true, "tags": []string{"b", "a"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"before":{"archived":false,"description":"<old> & \"quoted\"","name":"gemini"},"after":{"archived":true,"name":"apollo","tags":["b","a"]}}`
	if got != want {
		t.Errorf("Changes =\n%s\nwant\n%s", got, want)
	}
	if got, _ := audit.Changes(nil, nil); got != `{"before":{},"after":{}}` {
		t.Errorf("Changes(nil, nil) = %s", got)
	}
	if _, err := audit.Changes(nil, map[string]any{"c": make(chan int)}); err == nil {
		t.Error("Changes encoded a channel")
	}
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil || len(v) != 2 {
		t.Errorf("Changes returned %s, not a JSON object with before and after: %v", got, err)
	}
}
