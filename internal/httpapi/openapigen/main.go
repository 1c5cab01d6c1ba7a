// Command openapigen writes the API's OpenAPI document, generated from the
// routes' declarations (httpapi.OpenAPI), to the file its argument names.
// `make generate` runs it (go generate ./client) before oapi-codegen makes
// the typed client from the document.
package main

import (
	"fmt"
	"os"

	"github.com/strata-go/strata/internal/httpapi"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapigen path/to/openapi.json")
		os.Exit(2)
	}
	doc, err := httpapi.OpenAPI()
	if err == nil {
		err = os.WriteFile(os.Args[1], doc, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}
