package sqliterepo

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// timeLayout is how every time is stored: UTC, fixed width, to the
// microsecond, so that the text order of two values is their time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// formatTime returns t in UTC in timeLayout, truncated to the microsecond.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// formatTimePtr is formatTime for a nullable time.
func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

// parseTime reads a time stored by formatTime.
func parseTime(s string) (time.Time, error) {
	return time.Parse(timeLayout, s)
}

// decoder turns stored values into domain values, keeping the first error,
// so that a row converts in one expression.
type decoder struct{ err error }

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = &repo.Error{Kind: repo.ErrInternal, Message: "malformed value in the database", Err: err}
	}
}

func (d *decoder) time(s string) time.Time {
	t, err := parseTime(s)
	if err != nil {
		d.fail(err)
	}
	return t
}

func (d *decoder) timePtr(s *string) *time.Time {
	if s == nil {
		return nil
	}
	t := d.time(*s)
	return &t
}

// permissions reads a role's permissions, a JSON array of strings; never nil.
func (d *decoder) permissions(s string) []string {
	perms := []string{}
	if err := json.Unmarshal([]byte(s), &perms); err != nil {
		d.fail(err)
	}
	if perms == nil { // the JSON was null
		perms = []string{}
	}
	return perms
}

// encodePermissions writes a role's permissions as a JSON array of strings.
func encodePermissions(perms []string) string {
	if perms == nil {
		perms = []string{}
	}
	b, _ := json.Marshal(perms) // a []string always marshals
	return string(b)
}

func nullUUID(id *uuid.UUID) uuid.NullUUID {
	if id == nil {
		return uuid.NullUUID{}
	}
	return uuid.NullUUID{UUID: *id, Valid: true}
}

func uuidPtr(id uuid.NullUUID) *uuid.UUID {
	if !id.Valid {
		return nil
	}
	return &id.UUID
}

func toOrg(r sqlitedb.Org) (repo.Org, error) {
	var d decoder
	o := repo.Org{
		ID: r.ID, Slug: r.Slug, Name: r.Name, Region: r.Region, PolicyVersion: r.PolicyVersion,
		CreatedAt: d.time(r.CreatedAt), UpdatedAt: d.time(r.UpdatedAt),
	}
	return o, d.err
}

func toUser(r sqlitedb.User) (repo.User, error) {
	var d decoder
	u := repo.User{
		ID: r.ID, Email: r.Email, Name: r.Name, Status: repo.UserStatus(r.Status),
		CreatedAt: d.time(r.CreatedAt), UpdatedAt: d.time(r.UpdatedAt),
	}
	return u, d.err
}

// toMember converts a member row; ListMembersRow converts to GetMemberRow.
func toMember(r sqlitedb.GetMemberRow) (repo.Member, error) {
	var d decoder
	m := repo.Member{
		OrgID: r.OrgID,
		User: repo.User{
			ID: r.ID, Email: r.Email, Name: r.Name, Status: repo.UserStatus(r.Status),
			CreatedAt: d.time(r.UserCreatedAt), UpdatedAt: d.time(r.UserUpdatedAt),
		},
		JoinedAt: d.time(r.CreatedAt),
	}
	return m, d.err
}

func toRole(r sqlitedb.Role) (repo.Role, error) {
	var d decoder
	role := repo.Role{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, Builtin: r.Builtin != 0, Permissions: d.permissions(r.Permissions),
		CreatedAt: d.time(r.CreatedAt), UpdatedAt: d.time(r.UpdatedAt),
	}
	return role, d.err
}

func toRoleBinding(r sqlitedb.RoleBinding) (repo.RoleBinding, error) {
	var d decoder
	b := repo.RoleBinding{
		ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, RoleID: r.RoleID, ProjectID: uuidPtr(r.ProjectID),
		CreatedAt: d.time(r.CreatedAt),
	}
	return b, d.err
}

func toGrant(r sqlitedb.ListGrantsRow) (repo.Grant, error) {
	var d decoder
	g := repo.Grant{
		BindingID: r.BindingID, ProjectID: uuidPtr(r.ProjectID), RoleID: r.RoleID, RoleName: r.RoleName,
		Permissions: d.permissions(r.Permissions), UserStatus: repo.UserStatus(r.UserStatus),
	}
	return g, d.err
}

func toProject(r sqlitedb.Project) (repo.Project, error) {
	var d decoder
	p := repo.Project{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, Description: r.Description,
		CreatedAt: d.time(r.CreatedAt), UpdatedAt: d.time(r.UpdatedAt),
	}
	return p, d.err
}

func toAPIKey(r sqlitedb.ApiKey) (repo.APIKey, error) {
	var d decoder
	k := repo.APIKey{
		ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Name: r.Name, SecretHash: r.SecretHash,
		CreatedAt: d.time(r.CreatedAt), ExpiresAt: d.timePtr(r.ExpiresAt), RevokedAt: d.timePtr(r.RevokedAt),
	}
	return k, d.err
}
