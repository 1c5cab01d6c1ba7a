package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/users.go -destination ../mocks/repo_users.go -package mocks"

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
)

// UserStatus says whether a user may act.
type UserStatus string

// User statuses.
const (
	UserActive    UserStatus = "active"
	UserSuspended UserStatus = "suspended"
)

// User is a person. Users are global; they belong to orgs through memberships.
type User struct {
	ID        uuid.UUID
	Email     string // unique, compared case-insensitively
	Name      string
	Status    UserStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser is the input of Users.Create.
type NewUser struct {
	Email string
	Name  string
}

// UserUpdate is the input of Users.Update; nil fields are left unchanged.
type UserUpdate struct {
	Name   *string
	Status *UserStatus
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

// Users stores users, who are global.
type Users interface {
	Create(ctx context.Context, in NewUser) (User, error)
	Get(ctx context.Context, id uuid.UUID) (User, error)
	// GetByEmail finds a user by email, ignoring case.
	GetByEmail(ctx context.Context, email string) (User, error)
	Update(ctx context.Context, id uuid.UUID, in UserUpdate) (User, error)
}
