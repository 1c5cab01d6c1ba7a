package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type users struct{ s *Store }

func toUser(u pgdb.User) repo.User {
	return repo.User{
		ID: u.ID, Email: u.Email, Name: u.Name, Status: repo.UserStatus(u.Status),
		CreatedAt: repo.Timestamp(u.CreatedAt), UpdatedAt: repo.Timestamp(u.UpdatedAt),
	}
}

func (r users) Create(ctx context.Context, in repo.NewUser) (repo.User, error) {
	if err := repo.ValidateNewUser(in); err != nil {
		return repo.User{}, err
	}
	now := repo.Now()
	u, err := r.s.w.CreateUser(ctx, pgdb.CreateUserParams{
		ID: repo.NewID(), Email: in.Email, Name: in.Name, Status: string(repo.UserActive), CreatedAt: now, UpdatedAt: now,
	})
	return one(u, err, "user", toUser)
}

func (r users) Get(ctx context.Context, id uuid.UUID) (repo.User, error) {
	u, err := r.s.r.GetUser(ctx, id)
	return one(u, err, "user", toUser)
}

func (r users) GetByEmail(ctx context.Context, email string) (repo.User, error) {
	u, err := r.s.r.GetUserByEmail(ctx, email)
	return one(u, err, "user", toUser)
}

func (r users) Update(ctx context.Context, id uuid.UUID, in repo.UserUpdate) (repo.User, error) {
	if err := repo.ValidateUserUpdate(in); err != nil {
		return repo.User{}, err
	}
	var status *string
	if in.Status != nil {
		s := string(*in.Status)
		status = &s
	}
	u, err := r.s.w.UpdateUser(ctx, pgdb.UpdateUserParams{Name: in.Name, Status: status, UpdatedAt: repo.Now(), ID: id})
	return one(u, err, "user", toUser)
}
