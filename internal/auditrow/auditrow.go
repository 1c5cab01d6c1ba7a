// Package auditrow converts audit events to and from the form both adapters
// store them in (migration 000005): UUID-valued text as 17 bytes, actor types
// and outcomes as small codes. It keeps the two adapters byte for byte alike.
//
// A reference (actor_id, target_id, api_key_id) is stored as:
//
//	""                          no bytes
//	a UUID in canonical form    a zero byte, then its 16 bytes
//	any other text              its UTF-8 bytes
//
// Audit text never holds a zero byte (repo.ValidateText refuses NUL), so the
// first byte tells the two apart, and Text(Ref(s)) == s for every such s.
package auditrow

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// uuidTag starts a reference that holds a UUID.
const uuidTag = 0

// Ref returns the stored form of the reference s.
func Ref(s string) []byte {
	if len(s) == 36 {
		if u, err := uuid.Parse(s); err == nil && u.String() == s {
			return UUIDRef(u)
		}
	}
	return []byte(s)
}

// UUIDRef returns the stored form of the reference u.String(), or no bytes
// for uuid.Nil (no reference).
func UUIDRef(u uuid.UUID) []byte {
	if u == uuid.Nil {
		return []byte{}
	}
	return append([]byte{uuidTag}, u[:]...)
}

// Text returns the reference b stores.
func Text(b []byte) string {
	if len(b) == 17 && b[0] == uuidTag {
		return uuid.UUID(b[1:]).String()
	}
	return string(b)
}

// RefUUID returns the UUID reference b stores, uuid.Nil for none.
func RefUUID(b []byte) (uuid.UUID, error) {
	switch {
	case len(b) == 0:
		return uuid.Nil, nil
	case len(b) == 17 && b[0] == uuidTag:
		return uuid.UUID(b[1:]), nil
	}
	return uuid.Nil, fmt.Errorf("auditrow: stored reference %q is not a UUID", b)
}

// The codes of actor types and outcomes.
var (
	actorCodes   = map[repo.ActorType]int16{repo.ActorUser: 1, repo.ActorAPIKey: 2, repo.ActorSystem: 3}
	outcomeCodes = map[repo.Outcome]int16{repo.OutcomeSuccess: 1, repo.OutcomeDenied: 2}
	actorTypes   = [...]repo.ActorType{1: repo.ActorUser, 2: repo.ActorAPIKey, 3: repo.ActorSystem}
	outcomes     = [...]repo.Outcome{1: repo.OutcomeSuccess, 2: repo.OutcomeDenied}
)

// ActorCode returns the code of a valid actor type (0 for another).
func ActorCode(t repo.ActorType) int16 { return actorCodes[t] }

// OutcomeCode returns the code of a valid outcome (0 for another).
func OutcomeCode(o repo.Outcome) int16 { return outcomeCodes[o] }

// ActorType returns the actor type a stored code stands for.
func ActorType[N int16 | int64](code N) (repo.ActorType, error) {
	if code < 1 || int(code) >= len(actorTypes) {
		return "", fmt.Errorf("auditrow: unknown actor type code %d", code)
	}
	return actorTypes[code], nil
}

// Outcome returns the outcome a stored code stands for.
func Outcome[N int16 | int64](code N) (repo.Outcome, error) {
	if code < 1 || int(code) >= len(outcomes) {
		return "", fmt.Errorf("auditrow: unknown outcome code %d", code)
	}
	return outcomes[code], nil
}
