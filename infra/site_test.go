package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/csp"
)

// flat writes a template value as one string: Ref as {name}, Fn::GetAtt as {resource.attr},
// Fn::Join joined, Fn::Select of Fn::Split as {select i of src split by sep}.
func flat(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			return "{" + ref + "}"
		}
		if att, ok := v["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			return fmt.Sprintf("{%v.%v}", att[0], att[1])
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			var parts []string
			for _, p := range join[1].([]any) {
				parts = append(parts, flat(t, p))
			}
			return strings.Join(parts, join[0].(string))
		}
		if sel, ok := v["Fn::Select"].([]any); ok && len(sel) == 2 {
			if split, ok := sel[1].(map[string]any)["Fn::Split"].([]any); ok && len(split) == 2 {
				return fmt.Sprintf("{select %v of %s split by %v}", sel[0], flat(t, split[1]), split[0])
			}
		}
	}
	t.Fatalf("flat: %v is not a value this test reads", v)
	return ""
}

// only is the one resource of typ whose logical id starts with prefix.
func only(t *testing.T, tmpl assertions.Template, typ, prefix string) (string, map[string]any) {
	t.Helper()
	var id string
	var props map[string]any
	for rid, r := range resources(tmpl, typ) {
		if strings.HasPrefix(rid, prefix) {
			if id != "" {
				t.Fatalf("two %s named %s*: %s, %s", typ, prefix, id, rid)
			}
			id, props = rid, r["Properties"].(map[string]any)
		}
	}
	if id == "" {
		t.Fatalf("no %s named %s*", typ, prefix)
	}
	return id, props
}

// checkConsoleCSP: the console's policy is pkg/csp's, naming exactly the Hosted UI's domain
// and the workload bucket's host (the name the bucket is given, fixed before it exists, which
// no account id is part of), and no wildcard; and the client lets signing out revoke the
// refresh token.
func checkConsoleCSP(t *testing.T, tmpl assertions.Template) {
	t.Helper()
	_, bucket := only(t, tmpl, "AWS::S3::Bucket", "Workloads")
	name := flat(t, bucket["BucketName"])
	if name != "mycrt-workloads-{select 2 of {AWS::StackId} split by /}" {
		t.Errorf("the workload bucket is named %q, want mycrt-workloads-<the stack's UUID>", name)
	}
	domain, _ := only(t, tmpl, "AWS::Cognito::UserPoolDomain", "")
	_, headers := only(t, tmpl, "AWS::CloudFront::ResponseHeadersPolicy", "ConsoleHeaders")
	got := flat(t, headers["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"])
	want := csp.Console("https://{"+domain+"}.auth.{AWS::Region}.amazoncognito.com", "https://"+name+".s3.{AWS::Region}.{AWS::URLSuffix}")
	if got != want {
		t.Errorf("the console's CSP\n  %s\nwant\n  %s", got, want)
	}
	if strings.Contains(got, "*") {
		t.Errorf("the console's CSP has a wildcard: %s", got)
	}
	check(t, "token revocation", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{"EnableTokenRevocation": true})
	})
}
