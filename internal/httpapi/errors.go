package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// apiError is an error the transport itself decides (a body too large, a
// content type it does not take, a route that does not exist), with the
// status and code to answer.
type apiError struct {
	status  int
	code    string
	message string
	field   string
	// retryAfter, when positive, is the Retry-After header to send, in seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.message }

// errorJSON is the JSON shape of every error response.
type errorJSON struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code" schema:"enum=invalid unauthenticated forbidden not_found method_not_allowed conflict too_large unsupported_media_type unavailable internal"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty" doc:"The input field at fault: on a 400, and on a 409 that a taken value (an org slug, an email, a role or project name) caused."`
}

// kinds maps the repo error vocabulary to statuses and codes.
var kinds = []struct {
	kind   error
	status int
	code   string
}{
	{repo.ErrNotFound, http.StatusNotFound, "not_found"},
	{repo.ErrConflict, http.StatusConflict, "conflict"},
	{repo.ErrInvalid, http.StatusBadRequest, "invalid"},
	{repo.ErrForbidden, http.StatusForbidden, "forbidden"},
	{repo.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{repo.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

// describe turns err into a status and the body to show. Messages of repo
// errors are safe to show; anything outside the vocabulary is an internal
// error whose text stays in the log.
func describe(err error) (int, errorDetail) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, errorDetail{Code: ae.code, Message: ae.message, Field: ae.field}
	}
	switch {
	case errors.Is(err, repo.ErrKeyInFlight):
		return http.StatusConflict, errorDetail{Code: "idempotency_key_in_flight", Field: IdempotencyKeyHeader,
			Message: "a request with this idempotency key is still being processed: retry later with the same key"}
	case errors.Is(err, service.ErrKeyReused):
		return http.StatusUnprocessableEntity, errorDetail{Code: "idempotency_key_reused", Field: IdempotencyKeyHeader,
			Message: "this idempotency key was used for a different request: use a new key for a new change"}
	}
	kind := repo.KindOf(err)
	for _, k := range kinds {
		if kind != k.kind {
			continue
		}
		d := errorDetail{Code: k.code, Message: k.kind.Error(), Field: repo.FieldOf(err)}
		var re *repo.Error
		if errors.As(err, &re) && re.Message != "" {
			d.Message = re.Message
		}
		return k.status, d
	}
	return http.StatusInternalServerError, errorDetail{Code: "internal", Message: "internal error"}
}

// writeError answers err. A 500 or 503 logs the real error; a 401 says which
// scheme to use.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, d := describe(err)
	st := stateOf(r.Context())
	switch status {
	case http.StatusInternalServerError:
		s.log.Error("request failed", "err", err, "method", r.Method, "route", st.route, "request_id", st.id)
	case http.StatusServiceUnavailable:
		s.log.Warn("service unavailable", "err", err, "method", r.Method, "route", st.route, "request_id", st.id)
		w.Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	if errors.Is(err, repo.ErrKeyInFlight) {
		w.Header().Set("Retry-After", "1")
	}
	s.writeJSON(w, r, status, errorJSON{Error: d})
}

// writeJSON answers v as JSON. It encodes before writing, so a value that
// cannot be encoded is still a clean 500.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
