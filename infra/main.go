// Command infra is the CDK app: `make synth` synthesizes its template offline, `make deploy`
// deploys it to your AWS account. cdk-nag's AwsSolutions checks run on every synthesis.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewApp(app, "build", "web/dist")
	app.Synth(nil)
}

// NewApp adds the stack, with its cdk-nag checks and reasoned suppressions, to app.
func NewApp(app awscdk.App, assetsDir, webDir string) awscdk.Stack {
	stack := NewStack(app, "MycrtCaptures", &StackProps{AssetsDir: assetsDir, WebDir: webDir})
	suppress(stack)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack
}
