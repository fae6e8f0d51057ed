// Package withkms seals database passwords with the stack's KMS key.
package withkms

import (
	"os"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/secret"
)

// Passwords seals and opens with the KMS key KMS_KEY_ID.
func Passwords(a app.AWS) *secret.KMS {
	return secret.NewKMS(a.Config, app.Endpoint("KMS"), os.Getenv(lambdas.EnvKey))
}

// SealsPasswords lets an API function seal environments' database passwords.
func SealsPasswords(a app.AWS, s *api.Server) { s.Secrets = Passwords(a) }
