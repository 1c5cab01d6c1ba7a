package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type memberships struct{ s *Store }

// memberRow is the shape GetMember and ListMembers share.
type memberRow = pgdb.GetMemberRow

func toMember(m memberRow) repo.Member {
	return repo.Member{
		OrgID:    m.OrgID,
		JoinedAt: repo.Timestamp(m.CreatedAt),
		User: repo.User{
			ID: m.ID, Email: m.Email, Name: m.Name, Status: repo.UserStatus(m.Status),
			CreatedAt: repo.Timestamp(m.UserCreatedAt), UpdatedAt: repo.Timestamp(m.UserUpdatedAt),
		},
	}
}

func (r memberships) Add(ctx context.Context, orgID, userID uuid.UUID) (repo.Member, error) {
	var m repo.Member
	err := r.s.inTx(ctx, func(tx *Store) error {
		if _, err := tx.w.CreateMembership(ctx, pgdb.CreateMembershipParams{OrgID: orgID, UserID: userID, CreatedAt: repo.Now()}); err != nil {
			return mapErr(err, "member")
		}
		row, err := tx.w.GetMember(ctx, pgdb.GetMemberParams{OrgID: orgID, UserID: userID})
		m = toMember(row)
		return notFoundOr(err, "member")
	})
	return m, err
}

func (r memberships) Get(ctx context.Context, orgID, userID uuid.UUID) (repo.Member, error) {
	row, err := r.s.r.GetMember(ctx, pgdb.GetMemberParams{OrgID: orgID, UserID: userID})
	return one(row, err, "member", toMember)
}

func (r memberships) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Member], error) {
	return listByID(ctx, "members", page, func(after uuid.UUID, lim int32) ([]pgdb.ListMembersRow, error) {
		return r.s.r.ListMembers(ctx, pgdb.ListMembersParams{OrgID: orgID, After: after, Lim: lim})
	}, func(m pgdb.ListMembersRow) repo.Member { return toMember(memberRow(m)) },
		func(m repo.Member) uuid.UUID { return m.User.ID })
}

func (r memberships) Remove(ctx context.Context, orgID, userID uuid.UUID) error {
	n, err := r.s.w.DeleteMembership(ctx, pgdb.DeleteMembershipParams{OrgID: orgID, UserID: userID})
	return affected(n, err, "member")
}
