package repo

import (
	"strings"
	"time"
	"unicode/utf8"
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

// ValidateTime checks a time both dialects store and sort alike: years 0 to 9999.
func ValidateTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return Invalid(field, "must be between the years 0 and 9999")
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
