package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// users implements repo.Users.
type users struct{ s *store }

func (r users) Create(ctx context.Context, in repo.NewUser) (repo.User, error) {
	if err := repo.ValidateNewUser(in); err != nil {
		return repo.User{}, err
	}
	now := formatTime(repo.Now())
	row, err := r.s.write.CreateUser(ctx, sqlitedb.CreateUserParams{
		ID: repo.NewID(), Email: in.Email, Name: in.Name, Status: string(repo.UserActive), CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "user", toUser)
}

func (r users) Get(ctx context.Context, id uuid.UUID) (repo.User, error) {
	row, err := r.s.read.GetUser(ctx, id)
	return one(row, err, "user", toUser)
}

func (r users) GetByEmail(ctx context.Context, email string) (repo.User, error) {
	row, err := r.s.read.GetUserByEmail(ctx, email)
	return one(row, err, "user", toUser)
}

func (r users) Update(ctx context.Context, id uuid.UUID, in repo.UserUpdate) (repo.User, error) {
	if err := repo.ValidateUserUpdate(in); err != nil {
		return repo.User{}, err
	}
	status := (*string)(in.Status)
	row, err := r.s.write.UpdateUser(ctx, sqlitedb.UpdateUserParams{
		Name: in.Name, Status: status, UpdatedAt: formatTime(repo.Now()), ID: id,
	})
	return one(row, err, "user", toUser)
}
