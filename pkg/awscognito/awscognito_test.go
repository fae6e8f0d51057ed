package awscognito_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	idp "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/mycrt/captures/pkg/auth/cognitotest"
	"github.com/mycrt/captures/pkg/awscognito"
	"github.com/mycrt/captures/pkg/capture"
)

var cfg = aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}

const pool = "eu-west-1_AbCdEf123"

func directory(t *testing.T) (*cognitotest.Directory, string) {
	d := &cognitotest.Directory{Pool: pool, Users: []cognitotest.User{
		{Username: "alice", Sub: "5f1c9a2e-0000-4000-8000-000000000001", Email: "alice@example.com"},
		{Username: "bob", Sub: "5f1c9a2e-0000-4000-8000-000000000002", Email: "shared@example.com"},
		{Username: "carol", Sub: "5f1c9a2e-0000-4000-8000-000000000003", Email: "shared@example.com"},
		{Username: `o"neil\x`, Sub: "5f1c9a2e-0000-4000-8000-000000000004"},
		{Username: `o`, Sub: "5f1c9a2e-0000-4000-8000-000000000005"},
	}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv.URL
}

// TestFakeIsCognito holds the fake to what the SDK's own client sends and reads: its
// ListUsers, given the request Find makes, is answered with the users Find would find.
func TestFakeIsCognito(t *testing.T) {
	_, url := directory(t)
	sdk := idp.NewFromConfig(cfg, func(o *idp.Options) { o.BaseEndpoint = aws.String(url) })
	out, err := sdk.ListUsers(context.Background(), &idp.ListUsersInput{
		UserPoolId: aws.String(pool), Filter: aws.String(`email = "shared@example.com"`), Limit: aws.Int32(2), AttributesToGet: []string{"sub"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 2 || *out.Users[0].Username != "bob" || *out.Users[0].Attributes[0].Name != "sub" ||
		*out.Users[0].Attributes[0].Value != "5f1c9a2e-0000-4000-8000-000000000002" {
		t.Errorf("the SDK reads %+v", out.Users)
	}
	_, err = sdk.ListUsers(context.Background(), &idp.ListUsersInput{UserPoolId: aws.String("other"), Filter: aws.String(`sub = "x"`)})
	var nf interface{ ErrorCode() string }
	if !errors.As(err, &nf) || nf.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("another pool: %v, want ResourceNotFoundException", err)
	}
}

// TestSameWireAsTheSDK: each ListUsers Find sends is, field for field, the request the SDK's
// client sends for the same input.
func TestSameWireAsTheSDK(t *testing.T) {
	d, url := directory(t)
	c := awscognito.New(cfg, url, pool)
	if _, _, err := c.Find(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	ours := d.Requests()
	sdk := idp.NewFromConfig(cfg, func(o *idp.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := sdk.ListUsers(context.Background(), &idp.ListUsersInput{
		UserPoolId: aws.String(pool), Filter: aws.String(`username = "alice"`), Limit: aws.Int32(2), AttributesToGet: []string{"sub"},
	}); err != nil {
		t.Fatal(err)
	}
	theirs := d.Requests()[len(ours):]
	if len(ours) != 1 || len(theirs) != 1 || !reflect.DeepEqual(ours[0], theirs[0]) {
		t.Errorf("ours %v, the SDK's %v", ours, theirs)
	}
}

// TestFind: by user name, by email, by sub, in that order; nobody, several with one email,
// names that hold the filter's quote and escape; Cognito's own error text kept out.
func TestFind(t *testing.T) {
	_, url := directory(t)
	c := awscognito.New(cfg, url, pool)
	for _, tt := range []struct {
		who, id, name string
		err           error
	}{
		{"alice", "5f1c9a2e-0000-4000-8000-000000000001", "alice", nil},
		{"alice@example.com", "5f1c9a2e-0000-4000-8000-000000000001", "alice", nil},
		{"5f1c9a2e-0000-4000-8000-000000000002", "5f1c9a2e-0000-4000-8000-000000000002", "bob", nil},
		{`o"neil\x`, "5f1c9a2e-0000-4000-8000-000000000004", `o"neil\x`, nil},
		{`o" or username = "alice`, "", "", capture.ErrNoSuchUser},
		{"dave", "", "", capture.ErrNoSuchUser},
		{"shared@example.com", "", "", capture.ErrUserAmbiguous},
	} {
		id, name, err := c.Find(context.Background(), tt.who)
		if id != tt.id || name != tt.name || !errors.Is(err, tt.err) {
			t.Errorf("Find(%q) = %q, %q, %v; want %q, %q, %v", tt.who, id, name, err, tt.id, tt.name, tt.err)
		}
	}
	_, _, err := awscognito.New(cfg, url, "eu-west-1_gone").Find(context.Background(), "alice")
	if capture.KindOf(err) != capture.Unavailable || strings.Contains(capture.ErrUsersUnavailable.Message, "pool") {
		t.Errorf("a pool that is gone: %v, want Unavailable", err)
	}
	if !strings.Contains(err.Error(), "ResourceNotFoundException") || strings.Contains(err.Error(), "eu-west-1_gone does not exist") {
		t.Errorf("a pool that is gone: %q, want AWS's code and not its text", err)
	}
}
