package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// TimeLayout is the layout of occurred_at in the canonical encoding and in
// exports: RFC 3339 in UTC with exactly six fractional digits (microseconds,
// the precision both dialects store).
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// HashSize is the length in bytes of an event's hash and previous hash
// (SHA-256), the repository's [repo.HashLen].
const HashSize = repo.HashLen

// Canonical returns the canonical encoding of ev, the bytes its hash covers
// after the previous hash: its fields in a fixed order, each as its length
// in bytes (uint32, big-endian) followed by its UTF-8 text. Format 1 has
// thirteen fields: org_id, seq, id, occurred_at, actor_type, actor_id,
// action, target_type, target_id, outcome, metadata, remote_addr and
// request_id; format 2 adds api_key_id. FORMAT.md gives the text form of
// each. PrevHash and Hash are not part of it. An event of format 0 is
// encoded as format 1.
func Canonical(ev repo.AuditEvent) []byte {
	return appendCanonical(make([]byte, 0, canonicalSize(&ev)), &ev)
}

// Seal returns ev's hash, SHA-256(ev.PrevHash || Canonical(*ev)). It is a
// repo.Sealer: pass it to repo.AuditEvents.Append and SealPending, which
// call it once Seq and PrevHash are known.
func Seal(ev *repo.AuditEvent) []byte {
	buf := make([]byte, 0, len(ev.PrevHash)+canonicalSize(ev))
	buf = appendCanonical(append(buf, ev.PrevHash...), ev)
	sum := sha256.Sum256(buf)
	return sum[:]
}

var _ repo.Sealer = Seal

// fieldCount is the largest number of fields in the canonical encoding.
const fieldCount = 14

// canonicalSize returns the length of ev's canonical encoding, or close to
// it (seq is counted at its longest): enough to encode without growing.
func canonicalSize(ev *repo.AuditEvent) int {
	return fieldCount*4 + 3*36 + 20 + len(TimeLayout) +
		len(ev.ActorType) + len(ev.ActorID) + len(ev.Action) + len(ev.TargetType) + len(ev.TargetID) +
		len(ev.Outcome) + len(ev.Metadata) + len(ev.RemoteAddr) + len(ev.RequestID)
}

// appendCanonical appends ev's canonical encoding to dst without allocating
// when dst has room.
func appendCanonical(dst []byte, ev *repo.AuditEvent) []byte {
	var at int
	dst, at = beginField(dst)
	dst = endField(repo.AppendUUID(dst, ev.OrgID), at)
	dst, at = beginField(dst)
	dst = endField(strconv.AppendInt(dst, ev.Seq, 10), at)
	dst, at = beginField(dst)
	dst = endField(repo.AppendUUID(dst, ev.ID), at)
	dst, at = beginField(dst)
	dst = endField(ev.OccurredAt.UTC().AppendFormat(dst, TimeLayout), at)
	for _, s := range [...]string{
		string(ev.ActorType), ev.ActorID, ev.Action, ev.TargetType, ev.TargetID,
		string(ev.Outcome), ev.Metadata, ev.RemoteAddr, ev.RequestID,
	} {
		dst = appendField(dst, s)
	}
	if ev.Format >= 2 {
		dst = appendField(dst, apiKeyText(ev.APIKeyID))
	}
	return dst
}

// apiKeyText is the text form of an event's api_key_id: empty for none.
func apiKeyText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// appendField appends one length-prefixed field.
func appendField(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// beginField reserves a field's length prefix and returns where it is;
// endField fills it in once the field's text follows it.
func beginField(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

func endField(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}
