package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// memberships implements repo.Memberships.
type memberships struct{ s *store }

func (r memberships) Add(ctx context.Context, orgID, userID uuid.UUID) (repo.Member, error) {
	_, err := r.s.write.CreateMembership(ctx, sqlitedb.CreateMembershipParams{
		OrgID: orgID, UserID: userID, CreatedAt: formatTime(repo.Now()),
	})
	if err != nil {
		return repo.Member{}, mapErr(err, "member")
	}
	row, err := r.s.write.GetMember(ctx, sqlitedb.GetMemberParams{OrgID: orgID, UserID: userID})
	return one(row, err, "member", toMember)
}

func (r memberships) Get(ctx context.Context, orgID, userID uuid.UUID) (repo.Member, error) {
	row, err := r.s.read.GetMember(ctx, sqlitedb.GetMemberParams{OrgID: orgID, UserID: userID})
	return one(row, err, "member", toMember)
}

func (r memberships) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Member], error) {
	return listByID("members", page, func(after uuid.UUID, limit int64) ([]sqlitedb.ListMembersRow, error) {
		return r.s.read.ListMembers(ctx, sqlitedb.ListMembersParams{OrgID: orgID, After: after, Lim: limit})
	}, func(row sqlitedb.ListMembersRow) (repo.Member, error) {
		return toMember(sqlitedb.GetMemberRow(row))
	}, func(m repo.Member) uuid.UUID { return m.User.ID })
}

func (r memberships) Remove(ctx context.Context, orgID, userID uuid.UUID) error {
	n, err := r.s.write.DeleteMembership(ctx, sqlitedb.DeleteMembershipParams{OrgID: orgID, UserID: userID})
	return deleted(n, err, "member")
}
