package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/strata-go/strata/repo"
)

// The OpenAPI document (openapi.json) is generated from the routes'
// declarations: `make generate` runs ./openapigen, which writes what
// OpenAPI returns. A route is declared once, next to its handler, with its
// op: the operation's id, summary, permission, query parameters and body
// types; the rest follows from the method and path:
//
//   - the path parameters come from the route's group (and {org});
//   - GET with a listJSON answer takes limit and cursor;
//   - POST answers 201, DELETE 204, the others 200; a mutating route
//     takes the Idempotency-Key header;
//   - the request body's example is the in value's non-zero fields, so
//     declare it with values (in: projectInput{Name: "website"}): the
//     authorization matrix (authz_test.go) sends it, and a required query
//     parameter's Example, to call the route;
//   - the error answers follow from the method and body: every /v1 route
//     can answer 401, 403, 404, 429, 500 and 503, one that reads input 400,
//     a mutation 409 and 422, one with a body 413 and 415; a route outside
//     /v1 takes no API key and can answer 405.
//
// openapi.base.json holds the parts no route declares: info, servers,
// security, and the shared error answers.

//go:embed openapi.base.json
var openAPIBase []byte

// group is the routes of one tag of the document.
type group struct {
	tag, about string
	// params are the path parameters of the group's paths, by name; {org}
	// is everyone's.
	params map[string]param
	routes []route
}

// route is one registered pattern, "METHOD /path", its handler, and what
// the document says of it.
type route struct {
	pattern string
	handler http.Handler
	op
}

// op is a route's operation in the document.
type op struct {
	id      string // operationId
	summary string
	about   string // the description, before the permission
	needs   string // the permission, e.g. "projects.read (on the project)"
	query   []param
	in      any       // the request body's type, its non-zero fields the body's example; nil: none
	out     any       // the JSON answer's type; nil: none, or raw
	raw     *response // an answer that is not JSON of out's type
	answer  string    // the success answer's description, if not OK, Created or Deleted
	errs    []int     // error statuses beyond those that follow from the method
}

// param is a parameter of a path, query or header.
type param struct {
	ref         string // its key in components/parameters; "": inline
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required,omitempty"`
	Schema      schema `json:"schema"`
	Description string `json:"description,omitempty"`
	Example     string `json:"example,omitempty"`
}

// response is a success answer.
type response struct {
	Description string  `json:"description"`
	Content     ordered `json:"content,omitempty"`
}

// uuidPathParam is a UUID path parameter.
func uuidPathParam(ref, name, description string) param {
	return param{ref: ref, Name: name, In: "path", Required: true, Schema: schema{Type: "string", Format: "uuid"}, Description: description}
}

// queryParam is an optional query parameter.
func queryParam(ref, name string, s schema, description string) param {
	return param{ref: ref, Name: name, In: "query", Schema: s, Description: description}
}

func intPtr(n int) *int { return &n }

var (
	stringSchema = schema{Type: "string"}
	orgSlug      = param{ref: "org_slug", Name: "org", In: "path", Required: true, Schema: stringSchema, Description: "The org's slug."}
	pageParams   = []param{
		queryParam("limit", "limit", schema{Type: "integer", Minimum: intPtr(0), Maximum: intPtr(repo.MaxPageSize)},
			fmt.Sprintf("Page size: default %d, at most %d.", repo.DefaultPageSize, repo.MaxPageSize)),
		queryParam("cursor", "cursor", stringSchema, "The next_cursor of the previous page."),
	}
	idempotencyKey = param{ref: "idempotency_key", Name: "Idempotency-Key", In: "header", Schema: schema{Type: "string", MinLength: intPtr(1), MaxLength: intPtr(255)},
		Description: `A key for this change, unique per change: a UUID, say, as a token or a structured-field string ("..."). Up to 255 printable ASCII characters. Retries of the change send the same key and the same request; see the API's description.`,
		Example:     `"8e03978e-40d5-43e8-bc93-6894a57f9324"`}
)

// errorAnswers names the shared error answers of openapi.base.json.
var errorAnswers = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
	409: "Conflict", 413: "TooLarge", 415: "UnsupportedMediaType", 422: "IdempotencyKeyReused",
	429: "TooManyRequests", 500: "Internal", 503: "Unavailable",
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI returns the OpenAPI document of the routes New serves.
func OpenAPI() ([]byte, error) {
	var base struct {
		OpenAPI    string          `json:"openapi"`
		Info       json.RawMessage `json:"info"`
		Servers    json.RawMessage `json:"servers"`
		Security   json.RawMessage `json:"security"`
		Components struct {
			SecuritySchemes json.RawMessage `json:"securitySchemes"`
			Responses       json.RawMessage `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIBase, &base); err != nil {
		return nil, fmt.Errorf("openapi.base.json: %w", err)
	}
	d := &docBuilder{}
	d.schemas.ref(errorJSON{}, false)
	var tags []map[string]string
	for _, g := range (&server{}).routes() {
		tags = append(tags, map[string]string{"name": g.tag, "description": g.about})
		for _, rt := range g.routes {
			if err := d.add(g, rt); err != nil {
				return nil, fmt.Errorf("%s: %w", rt.pattern, err)
			}
		}
	}
	if d.schemas.err != nil {
		return nil, d.schemas.err
	}
	doc := ordered{
		{"openapi", base.OpenAPI}, {"info", base.Info}, {"servers", base.Servers}, {"security", base.Security},
		{"tags", tags}, {"paths", d.paths},
		{"components", ordered{
			{"securitySchemes", base.Components.SecuritySchemes}, {"parameters", d.params},
			{"responses", base.Components.Responses}, {"schemas", d.schemas.named},
		}},
	}
	compact, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// docBuilder gathers the paths and the components they refer to.
type docBuilder struct {
	paths   ordered // path → ordered: parameters, then an operation per method
	params  ordered
	schemas schemas
}

// param returns p, or a $ref to it in the components.
func (d *docBuilder) param(p param) any {
	if p.ref == "" {
		return p
	}
	if _, ok := d.params.get(p.ref); !ok {
		d.params = append(d.params, keyValue{p.ref, p})
	}
	return map[string]string{"$ref": "#/components/parameters/" + p.ref}
}

// add documents rt, a route of g.
func (d *docBuilder) add(g group, rt route) error {
	method, path, _ := strings.Cut(rt.pattern, " ")
	public := !strings.HasPrefix(path, "/v1/")
	var item *ordered
	for i := range d.paths {
		if d.paths[i].key == path {
			item = d.paths[i].value.(*ordered)
		}
	}
	if item == nil {
		item = &ordered{}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			p, ok := g.params[m[1]]
			if m[1] == "org" {
				p, ok = orgSlug, true
			}
			if !ok {
				return fmt.Errorf("path parameter %s is not declared in the %s group", m[1], g.tag)
			}
			params = append(params, d.param(p))
		}
		if params != nil {
			*item = append(*item, keyValue{"parameters", params})
		}
		d.paths = append(d.paths, keyValue{path, item})
	}

	o := ordered{{"operationId", rt.id}, {"summary", rt.summary}}
	about := rt.about
	if rt.needs != "" {
		about = strings.TrimSpace(about + " Needs `" + rt.needs + "`.")
	}
	if about != "" {
		o = append(o, keyValue{"description", about})
	}
	o = append(o, keyValue{"tags", []string{g.tag}})
	if public {
		o = append(o, keyValue{"security", []any{}})
	}
	mutating := method != http.MethodGet
	var params []any
	if mutating {
		params = append(params, d.param(idempotencyKey))
	}
	for _, p := range rt.query {
		params = append(params, d.param(p))
	}
	if rt.out != nil && isList(reflect.TypeOf(rt.out)) {
		for _, p := range pageParams {
			params = append(params, d.param(p))
		}
	}
	if params != nil {
		o = append(o, keyValue{"parameters", params})
	}
	if rt.in != nil {
		o = append(o, keyValue{"requestBody", ordered{{"required", true}, {"content", jsonContent(d.schemas.ref(rt.in, true), example(rt.in))}}})
	}

	status, description := successStatus(method)
	success := response{Description: description}
	if rt.answer != "" {
		success.Description = rt.answer
	}
	if rt.out != nil {
		success.Content = jsonContent(d.schemas.ref(rt.out, false), nil)
	}
	if rt.raw != nil {
		success = *rt.raw
	}
	answers := ordered{{fmt.Sprint(status), success}}
	codes := rt.errs
	if public {
		codes = append(codes, http.StatusMethodNotAllowed)
	} else {
		if method == http.MethodGet || rt.in != nil {
			codes = append(codes, 400)
		}
		codes = append(codes, 401, 403, 404)
		if mutating {
			codes = append(codes, 409)
		}
		if rt.in != nil {
			codes = append(codes, 413, 415)
		}
		if mutating {
			codes = append(codes, 422)
		}
		codes = append(codes, 429, 503, 500)
	}
	for _, code := range codes {
		answers = append(answers, keyValue{fmt.Sprint(code), map[string]string{"$ref": "#/components/responses/" + errorAnswers[code]}})
	}
	o = append(o, keyValue{"responses", answers})
	*item = append(*item, keyValue{strings.ToLower(method), o})
	return nil
}

// successStatus is the status and description of a method's success
// answer: POST 201 Created, DELETE 204 Deleted, the others 200 OK.
func successStatus(method string) (int, string) {
	switch method {
	case http.MethodPost:
		return http.StatusCreated, "Created"
	case http.MethodDelete:
		return http.StatusNoContent, "Deleted"
	}
	return http.StatusOK, "OK"
}

// example is a request body's example: the fields of in (a struct) that are
// not zero, by their JSON names; nil when all are zero. The authorization
// matrix sends it too (TestAuthorizationMatrix), so it is a body the route
// accepts.
func example(in any) ordered {
	v := reflect.ValueOf(in)
	var ex ordered
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() || v.Field(i).IsZero() {
			continue
		}
		ex = append(ex, keyValue{name, v.Field(i).Interface()})
	}
	return ex
}

// jsonContent is an application/json content of schema s, with its example
// when ex is not nil.
func jsonContent(s schema, ex ordered) ordered {
	media := ordered{{"schema", s}}
	if ex != nil {
		media = append(media, keyValue{"example", ex})
	}
	return ordered{{"application/json", media}}
}
