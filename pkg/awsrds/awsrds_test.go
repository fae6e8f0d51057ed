package awsrds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/mycrt/captures/pkg/awsrds"
	"github.com/mycrt/captures/pkg/capture"
)

// recorder answers RDS's query protocol from canned bodies by action, and keeps each
// request's form.
type recorder struct {
	mu      sync.Mutex
	forms   []url.Values
	answers map[string]string // action → XML body; absent → DBParameterGroupNotFound
}

func (f *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/rds/aws4_request") {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	_ = r.ParseForm()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	action := r.PostForm.Get("Action")
	body, ok := f.answers[action]
	if r.PostForm.Get("Marker") == "p2" {
		body, ok = f.answers[action+"#2"]
	}
	if !ok {
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>DBParameterGroupNotFound</Code><Message>arn:aws:rds:us-east-1:123456789012:pg:x not found</Message></Error><RequestId>r1</RequestId></ErrorResponse>`))
		return
	}
	_, _ = w.Write([]byte(`<` + action + `Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><` + action + `Result>` + body + `</` + action + `Result><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></` + action + `Response>`))
}

func (f *recorder) take() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.forms
	f.forms = nil
	return out
}

var cfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}

const (
	instanceXML = `<DBInstances><DBInstance><DBInstanceIdentifier>db-prod</DBInstanceIdentifier>
<Endpoint><Address>db-prod.abc.us-east-1.rds.amazonaws.com</Address><Port>3306</Port><HostedZoneId>Z</HostedZoneId></Endpoint>
<DBParameterGroups><DBParameterGroup><DBParameterGroupName>default.mysql8.0</DBParameterGroupName><ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup>
<DBParameterGroup><DBParameterGroupName>prod-params</DBParameterGroupName><ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups>
</DBInstance></DBInstances>`
	page1XML = `<Marker>p2</Marker><Parameters><Parameter><ParameterName>general_log</ParameterName><ParameterValue>0</ParameterValue><ApplyType>dynamic</ApplyType></Parameter></Parameters>`
	page2XML = `<Parameters><Parameter><ParameterName>autocommit</ParameterName><ParameterValue>1</ParameterValue></Parameter><Parameter><ParameterName>log_output</ParameterName></Parameter></Parameters>`
)

// TestSameWireAsTheSDK makes each call through this package and through the SDK's RDS client
// against one server, and checks that RDS would see the same requests and that both read the
// answers alike: the hand-written query protocol is the SDK's, call for call.
func TestSameWireAsTheSDK(t *testing.T) {
	f := &recorder{answers: map[string]string{
		"DescribeDBInstances":    instanceXML,
		"DescribeDBParameters":   page1XML,
		"DescribeDBParameters#2": page2XML,
		"ModifyDBParameterGroup": `<DBParameterGroupName>prod-params</DBParameterGroupName>`,
		"ResetDBParameterGroup":  `<DBParameterGroupName>prod-params</DBParameterGroupName>`,
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx := context.Background()
	ours := awsrds.New(cfg, srv.URL)
	sdk := rds.NewFromConfig(cfg, func(o *rds.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	group := aws.String("prod-params")
	param := func(name, value string) types.Parameter {
		p := types.Parameter{ParameterName: aws.String(name), ApplyMethod: types.ApplyMethodImmediate}
		if value != "" {
			p.ParameterValue = aws.String(value)
		}
		return p
	}

	t.Run("DescribeDBInstances", func(t *testing.T) {
		got, err := ours.Instance(ctx, "db-prod")
		if err != nil {
			t.Fatal(err)
		}
		out, err := sdk.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("db-prod")})
		if err != nil {
			t.Fatal(err)
		}
		db := out.DBInstances[0]
		want := capture.RDSInstance{ID: *db.DBInstanceIdentifier, Host: *db.Endpoint.Address, Port: int(*db.Endpoint.Port),
			ParameterGroups: []string{*db.DBParameterGroups[0].DBParameterGroupName, *db.DBParameterGroups[1].DBParameterGroupName}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read %+v, the SDK %+v", got, want)
		}
		sameForms(t, f.take())
	})
	t.Run("DescribeDBParameters", func(t *testing.T) {
		got, err := ours.Settings(ctx, "prod-params", "general_log", "log_output")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"general_log": "0", "log_output": ""}; !reflect.DeepEqual(got, want) {
			t.Errorf("settings %v, want %v", got, want)
		}
		pages := rds.NewDescribeDBParametersPaginator(sdk, &rds.DescribeDBParametersInput{DBParameterGroupName: group})
		for pages.HasMorePages() {
			if _, err := pages.NextPage(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sameForms(t, f.take())
	})
	t.Run("ModifyDBParameterGroup", func(t *testing.T) {
		if err := ours.Set(ctx, "prod-params", map[string]string{"log_output": "TABLE", "general_log": "1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: group,
			Parameters: []types.Parameter{param("general_log", "1"), param("log_output", "TABLE")}}); err != nil {
			t.Fatal(err)
		}
		sameForms(t, f.take())
	})
	t.Run("ResetDBParameterGroup", func(t *testing.T) {
		if err := ours.Reset(ctx, "prod-params", "general_log", "log_output"); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: group,
			Parameters: []types.Parameter{param("general_log", ""), param("log_output", "")}}); err != nil {
			t.Fatal(err)
		}
		sameForms(t, f.take())
	})
	t.Run("errors", func(t *testing.T) {
		delete(f.answers, "ModifyDBParameterGroup")
		err := ours.Set(ctx, "x", map[string]string{"general_log": "1"})
		_, sdkErr := sdk.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: aws.String("x"),
			Parameters: []types.Parameter{param("general_log", "1")}})
		var notFound *types.DBParameterGroupNotFoundFault
		if !errors.As(sdkErr, &notFound) {
			t.Fatalf("the SDK: %v", sdkErr)
		}
		var apiErr interface{ ErrorCode() string }
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != notFound.ErrorCode() {
			t.Errorf("error %v, the SDK's code %s", err, notFound.ErrorCode())
		}
		delete(f.answers, "DescribeDBInstances")
		if _, err := ours.Instance(ctx, "db-other"); !errors.Is(err, capture.ErrRDSUnavailable) || strings.Contains(err.Error(), "arn:") {
			t.Errorf("an unanswerable describe: %v", err)
		}
	})
}

// sameForms checks that the requests alternate ours, the SDK's, ... and that each pair is
// the same form.
func sameForms(t *testing.T, forms []url.Values) {
	t.Helper()
	if len(forms)%2 != 0 || len(forms) == 0 {
		t.Fatalf("%d requests", len(forms))
	}
	half := len(forms) / 2
	for i := range half {
		if ours, sdk := forms[i], forms[half+i]; !reflect.DeepEqual(ours, sdk) {
			t.Errorf("request %d:\n ours %v\n  SDK %v", i, ours, sdk)
		}
	}
}
