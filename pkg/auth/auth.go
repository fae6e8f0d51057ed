// Package auth says who is calling. On AWS an API Gateway JWT authorizer (Cognito) has
// already checked the bearer token and hands over its claims; locally an Issuer plays that
// authorizer with tokens signed by a key in the local data folder. Either way the handlers see
// the same Identity.
package auth

import (
	"errors"
	"net/http"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// Identity is the caller.
type Identity struct {
	ID   string // the token's subject: what memberships and ownership refer to
	Name string // for display: cognito:username, else email, else the subject
}

// ErrNoIdentity means the request carries no acceptable credentials.
var ErrNoIdentity = errors.New("missing or invalid bearer token")

// FromClaims reads an Identity out of verified JWT claims.
func FromClaims(claims map[string]string) (Identity, error) {
	sub := claims["sub"]
	if sub == "" {
		return Identity{}, ErrNoIdentity
	}
	name := claims["cognito:username"]
	if name == "" {
		name = claims["email"]
	}
	if name == "" {
		name = sub
	}
	return Identity{ID: sub, Name: name}, nil
}

// Authenticator finds the caller of a request.
type Authenticator func(r *http.Request) (Identity, error)

// APIGateway reads the caller from the claims API Gateway's JWT authorizer put on the Lambda
// event (HTTP API, payload 2.0). The token was verified before the function ran.
func APIGateway(r *http.Request) (Identity, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return Identity{}, ErrNoIdentity
	}
	return FromClaims(rc.Authorizer.JWT.Claims)
}
