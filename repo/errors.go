package repo

import (
	"errors"
	"fmt"
)

// The error vocabulary. Every error a repository returns matches exactly one of
// these with errors.Is, whatever the dialect underneath.
var (
	// ErrNotFound: the row does not exist, or belongs to another organization.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique or referential constraint refused the change, or a
	// concurrent transaction won a serialization race.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is malformed; the *Error names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: the caller's credentials are missing, unknown, revoked or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable: the database cannot be reached or is busy; trying later may work.
	ErrUnavailable = errors.New("unavailable")
	// ErrInternal: anything else; a bug or an unexpected database answer.
	ErrInternal = errors.New("internal error")
)

// kinds lists the vocabulary in the order KindOf checks it.
var kinds = []error{ErrNotFound, ErrConflict, ErrInvalid, ErrForbidden, ErrUnauthenticated, ErrUnavailable, ErrInternal}

// Error is the error type repositories and services return. Kind is one of the
// Err* values above; Field names the offending input field for ErrInvalid,
// and for an ErrConflict on a unique key (a taken slug, email or name).
type Error struct {
	Kind    error  // one of ErrNotFound, ErrConflict, ...
	Field   string // the input field at fault, if any (JSON name, e.g. "email")
	Message string // a human-readable explanation, safe to show to the caller
	// Retryable reports that the same transaction may succeed if run again
	// (serialization failure, deadlock, SQLITE_BUSY). InTx retries these.
	Retryable bool
	Err       error // the underlying cause, if any; never shown to callers
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.Error()
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// NotFound returns an ErrNotFound error about what (e.g. "project").
func NotFound(what string) error {
	return &Error{Kind: ErrNotFound, Message: what + " not found"}
}

// Conflict returns an ErrConflict error with the given message.
func Conflict(format string, args ...any) error {
	return &Error{Kind: ErrConflict, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an ErrInvalid error naming field.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Forbidden returns an ErrForbidden error with the given message.
func Forbidden(format string, args ...any) error {
	return &Error{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated returns an ErrUnauthenticated error with the given message.
func Unauthenticated(format string, args ...any) error {
	return &Error{Kind: ErrUnauthenticated, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the vocabulary error err matches (ErrNotFound, ...), ErrInternal
// for an error outside the vocabulary, and nil for nil.
func KindOf(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return ErrInternal
}

// IsRetryable reports whether err says the transaction may succeed if run again.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// FieldOf returns the input field an error names (see Error.Field), or "".
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// BuiltinRoleConflict is the error for an attempt to change or delete a
// built-in role.
func BuiltinRoleConflict(name string) error {
	return Conflict("built-in role %q cannot be changed or deleted", name)
}
