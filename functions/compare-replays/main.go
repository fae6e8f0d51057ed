// Command compare-replays is the Lambda function behind GET /api/replays/compare.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withs3"
)

func main() { serve.Main(api.CompareReplays, withs3.KeepsFiles) }
