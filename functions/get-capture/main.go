// Command get-capture is the Lambda function behind GET /api/captures/{id}.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
)

func main() { serve.Main(api.GetCapture) }
