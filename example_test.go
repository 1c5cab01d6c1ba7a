package strata_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/repo"
)

// ExampleOpen opens a database (an in-memory SQLite one; a postgres:// URL
// works the same), creates the schema, and writes an org and its first
// project in one transaction. A second transaction fails on a project name
// the org already has: the error is repo.ErrConflict naming the field, and
// nothing of that transaction remains.
func ExampleOpen() {
	ctx := context.Background()
	db, err := strata.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := strata.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}

	var org repo.Org
	err = db.InTx(ctx, func(tx repo.Store) error {
		var err error
		if org, err = tx.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"}); err != nil {
			return err
		}
		_, err = tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "apollo"})
		return err // nil commits; an error rolls back
	})
	if err != nil {
		log.Fatal(err)
	}

	err = db.InTx(ctx, func(tx repo.Store) error {
		if _, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "gemini"}); err != nil {
			return err
		}
		_, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "apollo"})
		return err
	})
	switch {
	case errors.Is(err, repo.ErrConflict):
		fmt.Println("conflict on", repo.FieldOf(err))
	case errors.Is(err, repo.ErrInvalid):
		fmt.Println("invalid", repo.FieldOf(err))
	case err != nil:
		log.Fatal(err)
	}

	page, err := db.Projects().List(ctx, org.ID, repo.PageRequest{})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range page.Items {
		fmt.Println("project", p.Name)
	}
	// Output:
	// conflict on name
	// project apollo
}
