// Command list-replays is the Lambda function behind GET /api/replays.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
)

func main() { serve.Main(api.ListReplays) }
