// Package withcognito lets the environments function find members in the stack's user pool by
// user name or email.
package withcognito

import (
	"os"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/awscognito"
	"github.com/mycrt/captures/pkg/lambdas"
)

// FindsUsers finds the users members are added by in the user pool USER_POOL_ID.
func FindsUsers(a app.AWS, s *api.Server) {
	s.Users = awscognito.New(a.Config, app.Endpoint("COGNITO_IDENTITY_PROVIDER"), os.Getenv(lambdas.EnvUserPool))
}
