// Command edit-capture is the Lambda function behind PUT /api/captures/{id}.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
)

func main() { serve.Main(api.EditCapture) }
