package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// decode reads a request body holding exactly one JSON object with only the
// fields of T. Every failure is an error to answer: 415 for a body that is
// not declared JSON, 413 for one over the limit, 400 naming the field for an
// unknown field or a value of the wrong type, 400 for anything else amiss
// (malformed JSON, invalid UTF-8, trailing data).
func decode[T any](s *server, w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if err := checkJSONContentType(r); err != nil {
		return v, err
	}
	raw, err := readJSONValue(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return v, err
	}
	if err := checkFields(raw, reflect.TypeFor[T]()); err != nil {
		return v, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonError(err)
	}
	return v, nil
}

// checkJSONContentType refuses a body not declared application/json (UTF-8).
func checkJSONContentType(r *http.Request) error {
	unsupported := &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		message: "the request body must be application/json"}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported
	}
	return nil
}

// readJSONValue reads exactly one JSON value of valid UTF-8 from body.
func readJSONValue(body io.Reader) (json.RawMessage, error) {
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, repo.Invalid("", "the request body is empty; it must be a JSON object")
		}
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, jsonError(err)
		}
		return nil, repo.Invalid("", "the request body must hold one JSON value, with nothing after it")
	}
	if !utf8.Valid(raw) {
		return nil, repo.Invalid("", "the request body is not valid UTF-8")
	}
	return raw, nil
}

// jsonError turns a decoding error into the error to answer.
func jsonError(err error) error {
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
			message: "the request body is larger than " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
	case errors.As(err, &syntax):
		return repo.Invalid("", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return repo.Invalid(typ.Field, "must be %s", jsonKind(typ.Type))
	case errors.As(err, &typ):
		return repo.Invalid("", "the request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return repo.Invalid("", "malformed JSON: the body ends early")
	}
	return repo.Invalid("", "malformed JSON")
}

// jsonKind names what a Go type is in JSON, for error messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// checkFields refuses a JSON object with a key that is not exactly the JSON
// name of one of t's fields (encoding/json would otherwise match keys
// regardless of case), naming the key. Other values are left to the decoder.
func checkFields(raw json.RawMessage, t reflect.Type) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return repo.Invalid("", "the request body must be a JSON object")
	}
	known := fieldNames(t)
	for k := range obj {
		if !known[k] {
			return repo.Invalid(k, "unknown field")
		}
	}
	return nil
}

var fieldNameCache sync.Map // reflect.Type -> map[string]bool

// fieldNames returns the JSON names of a struct type's fields.
func fieldNames(t reflect.Type) map[string]bool {
	if m, ok := fieldNameCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			m[name] = true
		}
	}
	fieldNameCache.Store(t, m)
	return m
}

// checkPathIDs refuses a path whose IDs are not UUIDs: each wildcard of
// the matched route named id or ending in _id must be one (the API
// document declares exactly these as UUIDs: TestOpenAPIOperations). A
// malformed ID names nothing that could exist, so it is a 404. serveV1
// calls it before the handler, which reads the IDs with pathID.
func checkPathIDs(r *http.Request) error {
	for seg := range strings.SplitSeq(r.Pattern, "/") {
		name, ok := strings.CutPrefix(seg, "{")
		name = strings.TrimSuffix(name, "}")
		if ok && (name == "id" || strings.HasSuffix(name, "_id")) {
			if _, err := parseUUID(r.PathValue(name)); err != nil {
				return repo.NotFound(strings.TrimSuffix(name, "_id"))
			}
		}
	}
	return nil
}

// pathID is the UUID path value name, which checkPathIDs has checked.
func pathID(r *http.Request, name string) uuid.UUID {
	id, _ := parseUUID(r.PathValue(name))
	return id
}

// parseUUID accepts only the canonical form, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, errors.New("not a UUID")
	}
	return uuid.Parse(s)
}

// requiredID reads a UUID from a body or query field: absent or malformed
// is a 400 naming it.
func requiredID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, repo.Invalid(field, "is required")
	}
	id, err := parseUUID(s)
	if err != nil {
		return uuid.Nil, repo.Invalid(field, "must be a UUID")
	}
	return id, nil
}

// optionalID reads an optional UUID field: nil when absent or empty.
func optionalID(field, s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := requiredID(field, s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// optionalTime reads an optional RFC 3339 time field.
func optionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, repo.Invalid(field, "must be an RFC 3339 time, e.g. 2006-01-02T15:04:05Z")
	}
	return t.UTC(), nil
}

// pageRequest reads ?limit= and ?cursor=. The cursor is opaque: the service
// judges it.
func pageRequest(r *http.Request) (repo.PageRequest, error) {
	q := r.URL.Query()
	page := repo.PageRequest{Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return page, repo.Invalid("limit", "must be a whole number from 0 to %d", repo.MaxPageSize)
		}
		page.Limit = n
	}
	return page, nil
}
