// Command edit-replay is the Lambda function behind PUT /api/replays/{id}.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
)

func main() { serve.Main(api.EditReplay) }
