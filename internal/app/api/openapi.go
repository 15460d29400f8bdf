package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes every route of this package; a test walks the router
// and the document both ways so they cannot drift apart.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI) // the client may have gone
	return nil
}
