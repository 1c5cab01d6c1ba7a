package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// What the /v1 handlers share. Each handler, in its entity's file (orgs.go,
// projects.go, ...), reads the path, query and body, calls the service and
// answers. Each returns the error to answer; the service decides
// authorization, validation and tenancy.

// org is the slug a /v1 path names.
func org(r *http.Request) string { return r.PathValue("org") }

// reply answers v with status, or returns err.
func (s *server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) error {
	if err != nil {
		return err
	}
	s.writeJSON(w, r, status, v)
	return nil
}

// noContent answers 204, or returns err.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// list answers one page of a list, {"items":[...],"next_cursor":"..."}.
func list[T, R any](s *server, w http.ResponseWriter, r *http.Request, conv func(T) R, fetch func(repo.PageRequest) (repo.Page[T], error)) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	res, err := fetch(page)
	return s.reply(w, r, http.StatusOK, toList(res, conv), err)
}

// listFunc is a Service method listing one page of an org's T, e.g.
// Service.ListMembers.
type listFunc[T any] func(Service, context.Context, service.Principal, string, repo.PageRequest) (repo.Page[T], error)

// listOf serves a plain list route: ?limit=&cursor= in, a page of items out.
func listOf[T, R any](s *server, conv func(T) R, fetch listFunc[T]) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p service.Principal) error {
		return list(s, w, r, conv, func(page repo.PageRequest) (repo.Page[T], error) {
			return fetch(s.svc, r.Context(), p, org(r), page)
		})
	}
}

// deleteFunc is a Service method removing one of an org's resources by ID,
// e.g. Service.DeleteProject.
type deleteFunc func(Service, context.Context, service.Principal, string, uuid.UUID) error

// deleteByID serves a DELETE route whose path names the resource by a UUID
// path value: 204.
func (s *server) deleteByID(param string, del deleteFunc) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p service.Principal) error {
		return noContent(w, del(s.svc, r.Context(), p, org(r), pathID(r, param)))
	}
}

// The JSON shapes of the API's resources, each in its entity's file, are
// snake_case, with IDs as UUID strings and times in RFC 3339 UTC. Secrets
// and their hashes have no field in them.

type listJSON[R any] struct {
	Items      []R    `json:"items"`
	NextCursor string "json:\"next_cursor\" doc:\"Pass as `cursor` for the next page; empty on the last page.\""
}

func toList[T, R any](page repo.Page[T], conv func(T) R) listJSON[R] {
	items := make([]R, len(page.Items))
	for i, v := range page.Items {
		items[i] = conv(v)
	}
	return listJSON[R]{Items: items, NextCursor: page.Next}
}
