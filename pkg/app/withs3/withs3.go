// Package withs3 keeps captures' files in the stack's workload bucket.
package withs3

import (
	"os"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/blob/s3blob"
	"github.com/mycrt/captures/pkg/lambdas"
)

// Files is the workload bucket WORKLOAD_BUCKET.
func Files(a app.AWS) s3blob.Bucket {
	return s3blob.New(a.Config, app.Endpoint("S3"), os.Getenv(lambdas.EnvBucket))
}

// KeepsFiles lets an API function read and delete captures' files.
func KeepsFiles(a app.AWS, s *api.Server) { s.Files = Files(a) }
