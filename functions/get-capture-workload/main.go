// Command get-capture-workload is the Lambda function behind GET /api/captures/{id}/workload.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withs3"
)

func main() { serve.Main(api.GetCaptureWorkload, withs3.KeepsFiles) }
