package httpapi

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
