package recording_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mycrt/captures/pkg/awsrds"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// fakeRDS answers the RDS query protocol for one parameter group, and applies what is set in
// it to a real MariaDB, as RDS applies dynamic parameters to the instances using the group.
type fakeRDS struct {
	t     *testing.T
	db    *mysqltest.Server
	group string
	mu    sync.Mutex
	calls []string          // "Action name=value ..." in order
	set   map[string]string // the group's user-set values; absent means the engine default
	deny  map[string]bool   // actions answered with AccessDenied, as IAM words it
}

var paramField = regexp.MustCompile(`^Parameters\.\w+\.(\d+)\.(\w+)$`)

func (f *fakeRDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	action := r.Form.Get("Action")
	if g := r.Form.Get("DBParameterGroupName"); g != f.group {
		w.WriteHeader(404)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>DBParameterGroupNotFound</Code><Message>%s not found</Message></Error></ErrorResponse>`, g)
		return
	}
	if f.deny[action] {
		w.WriteHeader(403)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/MycrtCaptures-WorkerServiceRole/worker is not authorized to perform: rds:%s on resource: arn:aws:rds:us-east-1:123456789012:pg:%s because no identity-based policy allows the rds:%s action</Message></Error><RequestId>5f8e</RequestId></ErrorResponse>`, action, f.group, action)
		return
	}
	params := map[string]map[string]string{}
	for k, v := range r.Form {
		if m := paramField.FindStringSubmatch(k); m != nil {
			if params[m[1]] == nil {
				params[m[1]] = map[string]string{}
			}
			params[m[1]][m[2]] = v[0]
		}
	}
	var desc []string
	for _, p := range params {
		desc = append(desc, fmt.Sprintf("%s=%s/%s", p["ParameterName"], p["ParameterValue"], p["ApplyMethod"]))
	}
	sort.Strings(desc)
	f.calls = append(f.calls, strings.TrimSpace(action+" "+strings.Join(desc, " ")))

	switch action {
	case "DescribeDBParameters":
		// Two pages, so the paginator is exercised: a filler parameter, then the group's own.
		var items string
		marker := ""
		if r.Form.Get("Marker") == "" {
			items = `<Parameter><ParameterName>autocommit</ParameterName><ParameterValue>1</ParameterValue></Parameter>`
			marker = "<Marker>page2</Marker>"
		} else {
			for _, name := range []string{"general_log", "log_output"} {
				items += "<Parameter><ParameterName>" + name + "</ParameterName>"
				if v, ok := f.set[name]; ok {
					items += "<ParameterValue>" + v + "</ParameterValue>"
				}
				items += "</Parameter>"
			}
		}
		fmt.Fprintf(w, `<DescribeDBParametersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBParametersResult>%s<Parameters>%s</Parameters></DescribeDBParametersResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeDBParametersResponse>`, marker, items)
		return
	case "ModifyDBParameterGroup":
		for _, p := range params {
			f.set[p["ParameterName"]] = p["ParameterValue"]
		}
	case "ResetDBParameterGroup":
		for _, p := range params {
			delete(f.set, p["ParameterName"])
		}
	default:
		http.Error(w, "unexpected action "+action, 400)
		return
	}
	f.apply()
	fmt.Fprintf(w, `<%[1]sResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><%[1]sResult><DBParameterGroupName>%[2]s</DBParameterGroupName></%[1]sResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></%[1]sResponse>`, action, f.group)
}

// apply sets the instance's globals from the group, engine defaults for what is unset.
func (f *fakeRDS) apply() {
	on, out := "OFF", "FILE"
	if f.set["general_log"] == "1" {
		on = "ON"
	}
	if v, ok := f.set["log_output"]; ok {
		out = v
	}
	f.db.Exec(f.t, "SET GLOBAL general_log = "+on, "SET GLOBAL log_output = '"+out+"'")
}

// TestRDSParameterGroup records an RDS instance through its parameter group, with its log
// rotated as RDS rotates it (mysql.rds_rotate_general_log), a tick's collection and the stop's.
func TestRDSParameterGroup(t *testing.T) {
	t.Parallel()
	f := newRDSRotationFixture(t)
	// The group has general_log set to 0 by its owner, and log_output left at the default.
	fake := &fakeRDS{t: t, db: f.db, group: "shop-params", set: map[string]string{"general_log": "0"}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	f.rec.RDS = awsrds.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}, srv.URL)
	f.env.Instance, f.env.ParameterGroup = "shop-db", "shop-params"

	c := f.begin(t, f.newCapture(t, "on rds"))
	want := f.runOrders(t, 0, 100)
	f.settled(t)
	f.collect(t, c)
	want = append(want, f.runOrders(t, 100, 150)...)
	c = f.end(t, c)
	if c.Workload.Fragments != 2 {
		t.Errorf("%d fragments, want 2: one per collection", c.Workload.Fragments)
	}
	sameStatements(t, appStatements(f.workload(t, c)), want)

	wantCalls := []string{
		"DescribeDBParameters",
		"DescribeDBParameters",
		"ModifyDBParameterGroup general_log=1/immediate log_output=TABLE/immediate",
		"ModifyDBParameterGroup general_log=0/immediate",
		"ResetDBParameterGroup log_output=/immediate",
	}
	if strings.Join(fake.calls, "\n") != strings.Join(wantCalls, "\n") {
		t.Errorf("RDS calls:\n%s\nwant:\n%s", strings.Join(fake.calls, "\n"), strings.Join(wantCalls, "\n"))
	}
	if len(fake.set) != 1 || fake.set["general_log"] != "0" {
		t.Errorf("the group was left as %v, want it as found: general_log=0 only", fake.set)
	}

	// A group RDS does not know fails the start with RDS's error code.
	f.env.ParameterGroup = "missing"
	err := f.rec.Begin(context.Background(), f.env, f.newCapture(t, "no group"))
	if err == nil || !strings.Contains(err.Error(), "parameter group missing: AWS answered DBParameterGroupNotFound") {
		t.Errorf("begin with an unknown group: %v", err)
	}
}

// leaks finds what must not reach a user: ARNs and 12-digit account ids.
var leaks = regexp.MustCompile(`arn:aws|\b\d{12}\b`)

// TestRDSRefusalsKeepAWSTextOut: when IAM refuses the worker (a group not tagged for it), the
// start's error, which becomes the capture's reason, and a refused restore's error, which the
// environment shows, name the call and AWS's code, and no ARN or account id.
func TestRDSRefusalsKeepAWSTextOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fake := &fakeRDS{t: t, db: f.db, group: "shop-params", set: map[string]string{}, deny: map[string]bool{"ModifyDBParameterGroup": true}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	f.rec.RDS = awsrds.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}, srv.URL)
	f.env.Instance, f.env.ParameterGroup = "shop-db", "shop-params"
	ctx := context.Background()

	err := f.rec.Begin(ctx, f.env, f.newCapture(t, "denied"))
	if err == nil || leaks.MatchString(err.Error()) || !strings.Contains(err.Error(), "AWS answered AccessDenied") {
		t.Errorf("a refused start: %v, want AccessDenied named without ARNs or account ids", err)
	}

	// Allowed to switch on, refused to restore: the lease keeps the reason, without the text.
	fake.deny = map[string]bool{"ResetDBParameterGroup": true}
	c := f.begin(t, f.newCapture(t, "restore denied"))
	f.rec.End(ctx, f.env, f.reload(t, c))
	l := f.lease(t, c.Lease)
	if !l.RestorePending || leaks.MatchString(l.LastError) || !strings.Contains(l.LastError, "AWS answered AccessDenied") {
		t.Errorf("a refused restore: %+v, want pending with AccessDenied named and nothing more", l)
	}
}
