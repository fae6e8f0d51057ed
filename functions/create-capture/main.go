// Command create-capture is the Lambda function behind POST /api/captures.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() { serve.Main(api.CreateCapture, withworker.HandsWork) }
