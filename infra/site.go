package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/csp"
)

// CLICallback is where `mycrt login` listens for Cognito's answer (authorization code + PKCE):
// Cognito takes plain http only for localhost.
const CLICallback = "http://localhost:8976/callback"

// consoleCSP is the console's content security policy (pkg/csp, as `make run` serves it) with
// the exact hosts the deployed console talks to besides its own origin: the Hosted UI's
// domain (tokens, their revocation, sign-in and out), and the workload bucket's virtual host,
// where a download's presigned link leads (named by the name the bucket is given, not by the
// bucket, whose CORS rule names the distribution: see workloadBucketName).
func consoleCSP(stack awscdk.Stack, signIn *string) *string {
	bucketHost := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://"), workloadBucketName(stack), jsii.String(".s3."), stack.Region(), jsii.String("."), stack.UrlSuffix(),
	})
	return jsii.String(csp.Console(*signIn, *bucketHost))
}

// newSite serves the web console from a private bucket through CloudFront (origin access
// control), and the HTTP API under /api/* through the same distribution, so the console calls
// its own origin and the API needs no CORS. People sign in through the Cognito Hosted UI with
// the authorization code grant and PKCE (a public client: no secret); `mycrt login` uses the
// same client with a loopback callback. It returns the console's URL.
func newSite(stack awscdk.Stack, s settings, webDir string, workloads awss3.Bucket, httpAPI awsapigatewayv2.HttpApi, pool awscognito.UserPool, client awscognito.UserPoolClient, removal awscdk.RemovalPolicy) *string {
	bucket := awss3.NewBucket(stack, jsii.String("Console"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		RemovalPolicy:     removal,
		AutoDeleteObjects: jsii.Bool(removal == awscdk.RemovalPolicy_DESTROY),
		// A deploy that replaces or removes a file keeps the old one a week, to go back to.
		Versioned: jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireReplacedFiles"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(7)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	// The Hosted UI at https://mycrt-<account>.auth.<region>.amazoncognito.com, or the prefix
	// in context authDomainPrefix (prefixes are global: pick another if it is taken).
	prefix, _ := stack.Node().TryGetContext(jsii.String("authDomainPrefix")).(string)
	domainPrefix := jsii.String(prefix)
	if prefix == "" {
		domainPrefix = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("mycrt-"), stack.Account()})
	}
	domain := pool.AddDomain(jsii.String("HostedUI"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: domainPrefix},
	})
	// The HTTP API's endpoint is https://<id>.execute-api.<region>.amazonaws.com: its host;
	// or its custom domain, when it has one (and the execute-api endpoint is disabled).
	apiHost := jsii.String(s.apiDomain)
	if s.apiDomain == "" {
		apiHost = awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), httpAPI.ApiEndpoint(), nil))
	}
	headers := awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: consoleCSP(stack, domain.BaseUrl(nil)), Override: jsii.Bool(true)},
			ContentTypeOptions:    &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions:          &awscloudfront.ResponseHeadersFrameOptions{FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true)},
			ReferrerPolicy:        &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true)},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(365)), IncludeSubdomains: jsii.Bool(true), Override: jsii.Bool(true),
			},
		},
	})
	dist := awscloudfront.NewDistribution(stack, jsii.String("Site"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("MyCRT Captures: the web console, and the API under /api/*"),
		DefaultRootObject: jsii.String("index.html"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			ResponseHeadersPolicy: headers,
		},
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			"/api/*": {
				Origin:               awscloudfrontorigins.NewHttpOrigin(apiHost, &awscloudfrontorigins.HttpOriginProps{ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY}),
				ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
				AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
				// Never cached, and every header but Host passed on: the API reads the
				// Authorization header, and API Gateway routes by its own host name.
				CachePolicy:         awscloudfront.CachePolicy_CACHING_DISABLED(),
				OriginRequestPolicy: awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			},
		},
	})
	consoleURL := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName(), jsii.String("/")})
	// A workload download follows the API's redirect to a presigned link on the workload
	// bucket: the console's origin may read it there (GET only; the link is the credential).
	workloads.AddCorsRule(&awss3.CorsRule{
		AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
		AllowedOrigins: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName()})},
		MaxAge:         jsii.Number(3600),
	})

	// The client was made with the API (its authorizer names it); its callbacks can name the
	// distribution only now.
	cfn := client.Node().DefaultChild().(awscognito.CfnUserPoolClient)
	cfn.SetCallbackUrLs(&[]*string{consoleURL, jsii.String(CLICallback)})
	cfn.SetLogoutUrLs(&[]*string{consoleURL, jsii.String(CLICallback)})
	// Signing out (the console, mycrt logout) revokes the refresh token at /oauth2/revoke.
	cfn.SetEnableTokenRevocation(jsii.Bool(true))

	// The console reads how to sign in from /config.json, written beside it.
	awss3deployment.NewBucketDeployment(stack, jsii.String("ConsoleFiles"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(webDir), nil),
			awss3deployment.Source_JsonData(jsii.String("config.json"), map[string]any{
				"cognito": map[string]any{
					"domain":   domain.BaseUrl(nil),
					"clientId": client.UserPoolClientId(),
				},
			}, nil),
		},
		// Revalidated at every request (CloudFront asks S3 whether its copy is current), so a
		// new console is seen at once, without invalidations, which IAM grants only on "*".
		CacheControl: &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoCache()},
		// CDK's own function, which copies the files as the stack deploys: its log expires too.
		LogGroup: s.logGroup(stack, "ConsoleFilesLogs"),
	})

	awscdk.NewCfnOutput(stack, jsii.String("ConsoleUrl"), &awscdk.CfnOutputProps{Value: consoleURL})
	awscdk.NewCfnOutput(stack, jsii.String("SignInUrl"), &awscdk.CfnOutputProps{Value: domain.BaseUrl(nil)})
	return consoleURL
}
