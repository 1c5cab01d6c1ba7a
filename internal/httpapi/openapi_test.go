package httpapi_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/internal/httpapi"
)

// openAPIDoc is the part of an OpenAPI document the test reads.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   struct {
		Format string `json:"format"`
	} `json:"schema"`
}

type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	Parameters  []openAPIParam             `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// fetchOpenAPI reads the document the API serves.
func fetchOpenAPI(t *testing.T) ([]byte, openAPIDoc) {
	t.Helper()
	w := newHarness(t).get("/openapi.json")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi.json: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	return w.Body.Bytes(), decodeBody[openAPIDoc](t, w.Body.Bytes())
}

// TestOpenAPIIsGenerated checks that the document served (and committed)
// is the one the routes' declarations make: make generate was run.
func TestOpenAPIIsGenerated(t *testing.T) {
	served, _ := fetchOpenAPI(t)
	want, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, want) {
		t.Error("openapi.json is not what the routes declare: run make generate")
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, doc := fetchOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				documented = append(documented, strings.ToUpper(key)+" "+path)
			}
		}
	}
	routes := httpapi.Routes()
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not documented", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("documented %s is not routed", d)
		}
	}
}

// TestOpenAPIOperations checks each operation: a unique operationId, a
// success response, and every path parameter declared, as a UUID exactly
// when its name is id or ends in _id (the server checks those before the
// handler: checkPathIDs).
func TestOpenAPIOperations(t *testing.T) {
	_, doc := fetchOpenAPI(t)
	resolve := func(p openAPIParam) openAPIParam {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			c, found := doc.Components.Parameters[name]
			if !found {
				t.Errorf("dangling parameter $ref %s", p.Ref)
			}
			return c
		}
		return p
	}
	pathParam := regexp.MustCompile(`\{([a-z_]+)\}`)
	ids := map[string]string{}
	for path, item := range doc.Paths {
		var shared []openAPIParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for method, raw := range item {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			name := strings.ToUpper(method) + " " + path
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if op.OperationID == "" || ids[op.OperationID] != "" {
				t.Errorf("%s: operationId %q missing or also used by %s", name, op.OperationID, ids[op.OperationID])
			}
			ids[op.OperationID] = name
			success := false
			for code := range op.Responses {
				success = success || strings.HasPrefix(code, "2")
			}
			if !success {
				t.Errorf("%s: no 2xx response", name)
			}
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				if p = resolve(p); p.In == "path" {
					declared[p.Name] = p.Required
					if id := p.Name == "id" || strings.HasSuffix(p.Name, "_id"); id != (p.Schema.Format == "uuid") {
						t.Errorf("%s: path parameter %s has format %q", name, p.Name, p.Schema.Format)
					}
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter %s is not declared as required", name, m[1])
				}
			}
			if len(declared) != len(pathParam.FindAllString(path, -1)) {
				t.Errorf("%s: declares path parameters %v", name, declared)
			}
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref points into the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	raw, _ := fetchOpenAPI(t)
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" && lookupPointer(doc, ref) == nil {
					t.Errorf("dangling $ref %s", ref)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// lookupPointer follows a local JSON pointer ("#/components/schemas/Org").
func lookupPointer(doc any, ref string) any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	cur := doc
	for _, part := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
