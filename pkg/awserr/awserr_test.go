package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/mycrt/captures/pkg/awserr"
)

// leaks finds what must not reach a user: ARNs and 12-digit account ids.
var leaks = regexp.MustCompile(`arn:aws|\b\d{12}\b`)

func TestWrap(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:sts::123456789012:assumed-role/mycrt-worker/fn is not authorized to perform: rds:ModifyDBParameterGroup on resource: arn:aws:rds:us-east-1:123456789012:pg:prod"}
	tests := []struct {
		err  error
		want string
	}{
		{denied, "modify parameter group prod: AWS answered AccessDenied"},
		{fmt.Errorf("operation error RDS: %w", denied), "modify parameter group prod: AWS answered AccessDenied"},
		{context.DeadlineExceeded, "modify parameter group prod: AWS answered nothing in time"},
		{errors.New("dial tcp: lookup rds.us-east-1.amazonaws.com: no such host"), "modify parameter group prod: AWS answered an error without a code"},
	}
	for _, tt := range tests {
		err := fmt.Errorf("could not start: %w", awserr.Wrap("modify parameter group prod", tt.err))
		if got := err.Error(); got != "could not start: "+tt.want || leaks.MatchString(got) {
			t.Errorf("Wrap(%v) reads %q, want %q", tt.err, got, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("Wrap(%v) hides the SDK's error from errors.Is", tt.err)
		}
		if d := awserr.Detail(err); !strings.Contains(d, tt.err.Error()) {
			t.Errorf("Detail = %q, want the SDK's whole text", d)
		}
	}
	if awserr.Wrap("x", nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
