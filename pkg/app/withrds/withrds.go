// Package withrds lets the environments function check the RDS instances environments name.
package withrds

import (
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/rdsinstances"
)

// ChecksInstances checks an environment's instance and parameter group with RDS before it is
// stored.
func ChecksInstances(a app.AWS, s *api.Server) {
	s.RDS = rdsinstances.Instances{Client: rds.NewFromConfig(a.Config, func(o *rds.Options) { o.BaseEndpoint = app.Endpoint("RDS") })}
}
