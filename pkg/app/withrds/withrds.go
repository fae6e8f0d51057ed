// Package withrds lets the environments function check the RDS instances environments name.
package withrds

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/awsrds"
)

// ChecksInstances checks an environment's instance and parameter group with RDS before it is
// stored.
func ChecksInstances(a app.AWS, s *api.Server) { s.RDS = awsrds.New(a.Config, app.Endpoint("RDS")) }
