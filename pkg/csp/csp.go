// Package csp is the web console's content security policy, in one place for the two servers
// that serve the console: `make run` (pkg/local) and the stack's CloudFront distribution
// (infra), which adds the exact hosts the deployed console talks to besides its own origin.
package csp

import "strings"

// Console is the console's policy: everything from the console's own origin, and nothing from
// elsewhere but what is named. signIn is the origin of the Cognito Hosted UI, or "" for none;
// the console calls its token and revoke endpoints (connect-src) and may post to it
// (form-action). downloads are further origins the console may fetch from: the workload
// bucket's host, where a download's presigned link leads. No source is a wildcard: callers
// name exact origins (CDK tokens inside them are fine, the stack resolves them). Styles come
// from the console's stylesheet only: it sets no style attribute and no <style> (its charts
// size themselves through the CSSOM, which the policy does not govern).
func Console(signIn string, downloads ...string) string {
	connect := []string{"'self'"}
	forms := []string{"'self'"}
	if signIn != "" {
		connect = append(connect, signIn)
		forms = append(forms, signIn)
	}
	connect = append(connect, downloads...)
	return strings.Join([]string{
		"default-src 'self'",
		"img-src 'self' data: blob:",
		"style-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action " + strings.Join(forms, " "),
	}, "; ")
}
