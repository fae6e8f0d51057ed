package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/netguard"
)

type placement struct {
	vpc     awsec2.IVpc
	subnets *awsec2.SubnetSelection
	groups  *[]awsec2.ISecurityGroup
}

// vpcPlacement puts the functions in a VPC when the context names one (vpcId, subnetIds and
// securityGroupId, comma-separated ids), so they reach an RDS instance in private subnets.
// The VPC is imported by its ids, so synthesis stays offline.
func vpcPlacement(stack awscdk.Stack) placement {
	get := func(k string) string { s, _ := stack.Node().TryGetContext(jsii.String(k)).(string); return s }
	vpcID, subnetIDs, sgID := get("vpcId"), get("subnetIds"), get("securityGroupId")
	if vpcID == "" {
		return placement{}
	}
	var subnets []awsec2.ISubnet
	for i, id := range strings.Split(subnetIDs, ",") {
		subnets = append(subnets, awsec2.Subnet_FromSubnetId(stack, jsii.Sprintf("Subnet%d", i), jsii.String(strings.TrimSpace(id))))
	}
	vpc := awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String(vpcID),
		AvailabilityZones: stack.AvailabilityZones(),
	})
	p := placement{vpc: vpc, subnets: &awsec2.SubnetSelection{Subnets: &subnets}}
	if sgID != "" {
		p.groups = &[]awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("FunctionsSecurityGroup"), jsii.String(sgID), nil)}
	}
	return p
}

// allowedDatabaseCIDRs reads CDK context allowedDatabaseCidrs ("10.0.0.0/16,10.1.0.0/16", or
// a list): the only networks environments' databases may be in. A CIDR that does not parse
// stops the synthesis.
func allowedDatabaseCIDRs(stack awscdk.Stack) string {
	var parts []string
	switch v := stack.Node().TryGetContext(jsii.String("allowedDatabaseCidrs")).(type) {
	case string:
		parts = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			s, _ := e.(string)
			parts = append(parts, s)
		}
	}
	joined := strings.Join(parts, ",")
	if _, err := netguard.ParseCIDRs(joined); err != nil {
		panic("context allowedDatabaseCidrs: " + err.Error())
	}
	return joined
}

// customDomain serves the API at the context's apiDomainName (with its ACM certificate,
// apiCertificateArn, which must be in the stack's region) and disables the default
// execute-api endpoint, so that the API is reached only through that name: by the console's
// distribution, which is then its origin, and by clients. API Gateway routes an HTTP API's
// requests only by its execute-api host or a custom domain name, so without one the default
// endpoint stays: it is the distribution's origin. The operator points the name at the
// ApiDomainTarget output (a CNAME, or a Route 53 alias). It returns the API's URL, nil
// without a custom domain.
func customDomain(stack awscdk.Stack, s settings, props *awsapigatewayv2.HttpApiProps) *string {
	if s.apiDomain == "" {
		return nil
	}
	domain := awsapigatewayv2.NewDomainName(stack, jsii.String("ApiDomain"), &awsapigatewayv2.DomainNameProps{
		DomainName:     jsii.String(s.apiDomain),
		Certificate:    awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("ApiCertificate"), jsii.String(s.apiCertificate)),
		EndpointType:   awsapigatewayv2.EndpointType_REGIONAL,
		SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
	})
	props.DefaultDomainMapping = &awsapigatewayv2.DomainMappingOptions{DomainName: domain}
	props.DisableExecuteApiEndpoint = jsii.Bool(true)
	awscdk.NewCfnOutput(stack, jsii.String("ApiDomainTarget"), &awscdk.CfnOutputProps{
		Value:       domain.RegionalDomainName(),
		Description: jsii.String("Point " + s.apiDomain + " here (CNAME)"),
	})
	return jsii.String("https://" + s.apiDomain)
}
