// Package awscognito finds the service's users in its Cognito user pool by name, email or id,
// with the one call that needs (ListUsers, JSON 1.1 over package awsreq). It is a leaf package
// so that only the function that adds members links it.
package awscognito

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
	"github.com/mycrt/captures/pkg/capture"
)

// Client looks users up in one user pool.
type Client struct {
	idp  awsreq.Client
	pool string
}

// New looks users up in pool with cfg's credentials, at endpoint (Cognito's in cfg's region
// when empty).
func New(cfg aws.Config, endpoint, pool string) *Client {
	return &Client{idp: awsreq.New(cfg, "cognito-idp", endpoint), pool: pool}
}

type listUsersRequest struct {
	UserPoolID      string   `json:"UserPoolId"`
	Filter          string   `json:"Filter"`
	Limit           int      `json:"Limit"`
	AttributesToGet []string `json:"AttributesToGet"`
}

type listUsersAnswer struct {
	Users []struct {
		Username   string
		Attributes []struct{ Name, Value string }
	}
}

// The attributes a match is read by, in the order a name is tried against them: what people
// call each other by, then the email they know, then the id (a sub pasted from a token).
var attributes = []string{"username", "email", "sub"}

// Find returns the id (sub) and user name of the one user whose user name, email or sub is
// who, trying them in that order: capture.ErrNoSuchUser when none is, ErrUserAmbiguous when
// several users share the email, an error of kind Unavailable when Cognito cannot be asked.
func (c *Client) Find(ctx context.Context, who string) (id, name string, err error) {
	for _, attr := range attributes {
		if attr == "email" && !strings.Contains(who, "@") {
			continue
		}
		found, err := c.list(ctx, attr, who)
		if err != nil {
			return "", "", fmt.Errorf("%w: %w", capture.ErrUsersUnavailable, awserr.Wrap("find a user by "+attr, err))
		}
		switch len(found.Users) {
		case 0:
			continue
		case 1:
		default:
			return "", "", capture.ErrUserAmbiguous
		}
		u := found.Users[0]
		for _, a := range u.Attributes {
			if a.Name == "sub" && a.Value != "" {
				return a.Value, u.Username, nil
			}
		}
		return "", "", fmt.Errorf("%w: Cognito gave user %q without a sub", capture.ErrUsersUnavailable, u.Username)
	}
	return "", "", capture.ErrNoSuchUser
}

// list is ListUsers with the filter attr = "value" (exact), at most two users: one is the
// answer, two say it is not one.
func (c *Client) list(ctx context.Context, attr, value string) (listUsersAnswer, error) {
	body, err := json.Marshal(listUsersRequest{UserPoolID: c.pool, Filter: filter(attr, value), Limit: 2, AttributesToGet: []string{"sub"}})
	if err != nil {
		return listUsersAnswer{}, err
	}
	_, answer, err := c.idp.Do(ctx, awsreq.Request{
		Method: http.MethodPost,
		Header: http.Header{
			"X-Amz-Target": {"AWSCognitoIdentityProviderService.ListUsers"},
			"Content-Type": {"application/x-amz-json-1.1"},
		},
		Body: body,
	})
	if err != nil {
		return listUsersAnswer{}, err
	}
	var out listUsersAnswer
	if err := json.Unmarshal(answer, &out); err != nil {
		return listUsersAnswer{}, fmt.Errorf("cognito ListUsers: the answer is not JSON: %w", err)
	}
	return out, nil
}

// filter is ListUsers' exact-match filter, attr = "value", with the value's backslashes and
// quotes escaped so that no name can end the string and add a filter of its own.
func filter(attr, value string) string {
	value = strings.ReplaceAll(value, `\`, `\\`)
	value = strings.ReplaceAll(value, `"`, `\"`)
	return attr + ` = "` + value + `"`
}
