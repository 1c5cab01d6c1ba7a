package httpapi

import "strings"

// Routes returns the patterns New registers ("GET /v1/orgs/{org}"), for the
// test that holds the OpenAPI document to them.
func Routes() []string {
	var out []string
	for _, g := range (&server{}).routes() {
		for _, rt := range g.routes {
			out = append(out, rt.pattern)
		}
	}
	return out
}

// Op is a route as its declaration describes it to the OpenAPI document,
// for the authorization matrix (TestAuthorizationMatrix), which calls every
// route from these alone.
type Op struct {
	Route  string            // the pattern, "POST /v1/orgs/{org}/projects"
	Needs  string            // the permission the document names, "projects.read (on the project)"
	Status int               // the success status
	Body   string            // the request body's example as JSON; "{}" when it has none; "": no body
	Query  map[string]string // the required query parameters' examples, by name
}

// Ops returns the declarations of the routes New registers.
func Ops() []Op {
	var out []Op
	for _, g := range (&server{}).routes() {
		for _, rt := range g.routes {
			method, _, _ := strings.Cut(rt.pattern, " ")
			o := Op{Route: rt.pattern, Needs: rt.needs, Query: map[string]string{}}
			o.Status, _ = successStatus(method)
			if rt.in != nil {
				o.Body = "{}"
				if ex := example(rt.in); ex != nil {
					b, err := marshal(ex)
					if err != nil {
						panic(err)
					}
					o.Body = string(b)
				}
			}
			for _, p := range rt.query {
				if p.Required {
					o.Query[p.Name] = p.Example
				}
			}
			out = append(out, o)
		}
	}
	return out
}
