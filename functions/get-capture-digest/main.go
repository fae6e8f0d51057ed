// Command get-capture-digest is the Lambda function behind GET /api/captures/{id}/digest.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withs3"
)

func main() { serve.Main(api.GetCaptureDigest, withs3.KeepsFiles) }
