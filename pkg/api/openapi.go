package api

import _ "embed"

// OpenAPI is the OpenAPI 3 description of every route, kept beside the handlers it describes
// and checked against real requests and responses in the tests.
//
//go:embed openapi.yaml
var OpenAPI []byte
