// Command delete-replay is the Lambda function behind DELETE /api/replays/{id}.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() { serve.Main(api.DeleteReplay, withs3.KeepsFiles, withworker.HandsWork) }
