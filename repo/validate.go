package repo

import (
	"crypto/sha256"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Input limits shared by both dialects (the schemas check the same ones).
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 2000
	MaxEmailLen       = 254
	MaxSlugLen        = 63
	MaxRegionLen      = 64
	MaxRoleNameLen    = 63
	MaxPermissionLen  = 100
	MaxPermissions    = 200
	MaxMetadataLen    = 64 << 10 // characters of an audit event's metadata
)

// ValidateSlug checks an org slug: 1 to 63 of [a-z0-9-], not starting or ending with '-'.
func ValidateSlug(slug string) error {
	if slug == "" {
		return Invalid("slug", "must not be empty")
	}
	if len(slug) > MaxSlugLen {
		return Invalid("slug", "must be at most %d characters", MaxSlugLen)
	}
	if slug[0] == '-' || slug[len(slug)-1] == '-' {
		return Invalid("slug", "must not start or end with '-'")
	}
	for _, c := range []byte(slug) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return Invalid("slug", "may hold only lower-case letters, digits and '-'")
		}
	}
	return nil
}

// ValidateEmail checks an email address: a bare addr-spec (no display name), at
// most 254 bytes, with a domain.
func ValidateEmail(email string) error {
	if email == "" {
		return Invalid("email", "must not be empty")
	}
	if len(email) > MaxEmailLen {
		return Invalid("email", "must be at most %d characters", MaxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return Invalid("email", "is not a valid email address")
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 {
		return Invalid("email", "is not a valid email address")
	}
	return nil
}

// ValidateText checks a free-text field: valid UTF-8, no NUL, at most max
// characters, and non-empty (ignoring spaces) when required.
func ValidateText(field, s string, required bool, max int) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return Invalid(field, "must be valid UTF-8 text")
	}
	if required && strings.TrimSpace(s) == "" {
		return Invalid(field, "must not be empty")
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(field, "must be at most %d characters", max)
	}
	return nil
}

// ValidateRoleName checks a role name: 1 to 63 of [a-z0-9_-], starting with a
// letter or digit.
func ValidateRoleName(name string) error {
	if name == "" {
		return Invalid("name", "must not be empty")
	}
	if len(name) > MaxRoleNameLen {
		return Invalid("name", "must be at most %d characters", MaxRoleNameLen)
	}
	for i, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			return Invalid("name", "may hold only lower-case letters, digits, '_' and '-', starting with a letter or digit")
		}
	}
	return nil
}

// ValidatePermissionForm checks the form of permission strings: "*", or
// dot-separated segments of [a-z_] where the last may be "*". Whether a
// permission is known is the authorization layer's business.
func ValidatePermissionForm(perms []string) error {
	if len(perms) > MaxPermissions {
		return Invalid("permissions", "at most %d permissions", MaxPermissions)
	}
	for _, p := range perms {
		if p == "*" {
			continue
		}
		if p == "" || len(p) > MaxPermissionLen {
			return Invalid("permissions", "%q is not a permission", p)
		}
		segs := strings.Split(p, ".")
		for i, seg := range segs {
			if seg == "*" && i == len(segs)-1 && i > 0 {
				continue
			}
			if seg == "" || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyz_") != "" {
				return Invalid("permissions", "%q is not a permission", p)
			}
		}
	}
	return nil
}

// ValidateNewOrg checks the input of Orgs.Create and fills in the default region.
func ValidateNewOrg(in *NewOrg) error {
	if in.Region == "" {
		in.Region = DefaultRegion
	}
	return firstErr(
		ValidateSlug(in.Slug),
		ValidateText("name", in.Name, true, MaxNameLen),
		ValidateText("region", in.Region, true, MaxRegionLen),
	)
}

// ValidateOrgUpdate checks the input of Orgs.Update.
func ValidateOrgUpdate(in OrgUpdate) error {
	var errs []error
	if in.Name != nil {
		errs = append(errs, ValidateText("name", *in.Name, true, MaxNameLen))
	}
	if in.Region != nil {
		errs = append(errs, ValidateText("region", *in.Region, true, MaxRegionLen))
	}
	return firstErr(errs...)
}

// ValidateNewUser checks the input of Users.Create.
func ValidateNewUser(in NewUser) error {
	return firstErr(ValidateEmail(in.Email), ValidateText("name", in.Name, false, MaxNameLen))
}

// ValidateUserUpdate checks the input of Users.Update.
func ValidateUserUpdate(in UserUpdate) error {
	var errs []error
	if in.Name != nil {
		errs = append(errs, ValidateText("name", *in.Name, false, MaxNameLen))
	}
	if in.Status != nil && *in.Status != UserActive && *in.Status != UserSuspended {
		errs = append(errs, Invalid("status", "must be %q or %q", UserActive, UserSuspended))
	}
	return firstErr(errs...)
}

// ValidateNewRole checks the input of Roles.Create.
func ValidateNewRole(in NewRole) error {
	return firstErr(ValidateRoleName(in.Name), ValidatePermissionForm(in.Permissions))
}

// ValidateNewAPIKey checks the input of APIKeys.Create.
func ValidateNewAPIKey(in NewAPIKey) error {
	if len(in.SecretHash) != 32 {
		return Invalid("secret_hash", "must be 32 bytes (SHA-256)")
	}
	if in.ExpiresAt != nil {
		if err := ValidateTime("expires_at", *in.ExpiresAt); err != nil {
			return err
		}
	}
	return ValidateText("name", in.Name, true, MaxNameLen)
}

// ValidateTime checks a time both dialects store and sort alike: years 0 to 9999.
func ValidateTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return Invalid(field, "must be between the years 0 and 9999")
	}
	return nil
}

// HashLen is the length in bytes of an audit event's hash and previous
// hash: a SHA-256 digest, as both dialects store it.
const HashLen = sha256.Size

// Seal lets seal compute ev's hash (Seq, PrevHash and Format filled in)
// and checks that it is HashLen bytes long, as the database requires.
func Seal(ev *AuditEvent, seal Sealer) error {
	ev.Hash = seal(ev)
	if len(ev.Hash) != HashLen {
		return Invalid("hash", "must be %d bytes (SHA-256)", HashLen)
	}
	return nil
}

// PrepareAuditEvent checks an event about to be appended and fills in its
// defaults: Metadata "{}" when empty, a new ID when nil, the current time
// when OccurredAt is zero (else OccurredAt as stored: UTC, microseconds),
// and Format AuditFormat. Whatever seal fields it had are cleared.
func PrepareAuditEvent(ev *AuditEvent) error {
	ev.Format, ev.Seq, ev.PrevHash, ev.Hash = AuditFormat, 0, nil, nil
	if ev.Metadata == "" {
		ev.Metadata = "{}"
	}
	if ev.ID == uuid.Nil {
		ev.ID = NewID()
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = Now()
	} else {
		ev.OccurredAt = Timestamp(ev.OccurredAt)
	}
	var errs []error
	errs = append(errs,
		ValidateText("action", ev.Action, true, 100),
		ValidateText("actor_id", ev.ActorID, false, 200),
		ValidateText("target_type", ev.TargetType, false, 100),
		ValidateText("target_id", ev.TargetID, false, 200),
		ValidateText("remote_addr", ev.RemoteAddr, false, 100),
		ValidateText("request_id", ev.RequestID, false, 100),
		ValidateText("metadata", ev.Metadata, false, MaxMetadataLen),
		ValidateTime("occurred_at", ev.OccurredAt),
	)
	switch ev.ActorType {
	case ActorUser, ActorAPIKey, ActorSystem:
	default:
		errs = append(errs, Invalid("actor_type", "must be user, api_key or system"))
	}
	switch ev.Outcome {
	case OutcomeSuccess, OutcomeDenied:
	default:
		errs = append(errs, Invalid("outcome", "must be success or denied"))
	}
	if !json.Valid([]byte(ev.Metadata)) || strings.TrimSpace(ev.Metadata)[0] != '{' {
		errs = append(errs, Invalid("metadata", "must be a JSON object"))
	}
	return firstErr(errs...)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
