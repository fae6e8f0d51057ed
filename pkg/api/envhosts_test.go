package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/mycrt/captures/pkg/awsrds"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/netguard"
)

// TestEnvironmentHostsTheWorkerMayNotReach: an environment may not name a host that is, or
// resolves to, a link-local (the cloud's metadata service), unspecified, multicast or
// broadcast address; loopback only where the policy allows it (make run); and only the allowed
// networks when there is a list. Nothing here is dialled: literal addresses are checked as they
// are, and names resolve from a fixed table.
func TestEnvironmentHostsTheWorkerMayNotReach(t *testing.T) {
	h := newHarness(t)
	n := 0
	create := func(host string) response {
		n++ // names are unique per owner
		return h.createEnvironment(fmt.Sprintf("x %d %s", n, host), map[string]any{"host": host})
	}
	tests := []struct {
		name, host string
		configure  func(*netguard.Policy)
		why        string // "" when accepted
	}{
		{"metadata service", "169.254.169.254", nil, "link-local"},
		{"IPv6 link-local", "fe80::1", nil, "link-local"},
		{"IPv6 link-local in brackets", "[fe80::1]", nil, "link-local"},
		{"a name for the metadata service", "metadata.test", nil, "metadata.test resolves to 169.254.169.254, a link-local address"},
		{"unspecified", "0.0.0.0", nil, "unspecified"},
		{"multicast", "239.1.1.1", nil, "multicast"},
		{"broadcast", "255.255.255.255", nil, "broadcast"},
		{"loopback locally", "127.0.0.1", nil, ""},
		{"loopback on AWS", "127.0.0.1", func(p *netguard.Policy) { p.AllowLoopback = false }, "loopback"},
		{"localhost on AWS", "localhost", func(p *netguard.Policy) { p.AllowLoopback = false }, "loopback"},
		{"a private database", "db.internal", nil, ""},
		{"a name that resolves only elsewhere", "db.in-the-vpc.test", nil, ""},
		{"inside the allowed networks", "db.internal", allow("10.0.0.0/8"), ""},
		{"outside the allowed networks", "db.example.com", allow("10.0.0.0/8"), "outside the allowed database networks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			saved := h.server.Network
			defer func() { h.server.Network = saved }()
			if tt.configure != nil {
				tt.configure(&h.server.Network)
			}
			r := create(tt.host)
			switch {
			case tt.why == "" && r.Status != 200:
				t.Errorf("%s: %d %s, want accepted", tt.host, r.Status, r.Body)
			case tt.why != "" && (r.Status != 400 || !strings.Contains(r.errorMessage(t), tt.why)):
				t.Errorf("%s: %d %s, want 400 saying %q", tt.host, r.Status, r.Body, tt.why)
			}
		})
	}
}

func allow(cidrs string) func(*netguard.Policy) {
	return func(p *netguard.Policy) {
		allowed, err := netguard.ParseCIDRs(cidrs)
		if err != nil {
			panic(err)
		}
		p.Allowed = allowed
	}
}

// fakeDescribe answers RDS's DescribeDBInstances (query protocol) for one instance, db-prod,
// with one parameter group.
func fakeDescribe(t *testing.T) *awsrds.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "DescribeDBInstances" {
			http.Error(w, "unexpected action", 400)
			return
		}
		if id := r.Form.Get("DBInstanceIdentifier"); id != "db-prod" {
			w.WriteHeader(404)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>DBInstanceNotFound</Code><Message>DBInstance %s not found.</Message></Error><RequestId>1</RequestId></ErrorResponse>`, id)
			return
		}
		fmt.Fprint(w, `<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult><DBInstances><DBInstance>
<DBInstanceIdentifier>db-prod</DBInstanceIdentifier>
<Endpoint><Address>db-prod.abc123.us-east-1.rds.amazonaws.com</Address><Port>3306</Port></Endpoint>
<DBParameterGroups><DBParameterGroup><DBParameterGroupName>prod-params</DBParameterGroupName><ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups>
</DBInstance></DBInstances></DescribeDBInstancesResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></DescribeDBInstancesResponse>`)
	}))
	t.Cleanup(srv.Close)
	return awsrds.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}, srv.URL)
}

// TestEnvironmentRDSNamesChecked: an environment naming an RDS instance or parameter group is
// stored only if RDS says the instance's endpoint is the environment's host and port, and the
// group is attached to it; otherwise a 400 says which check failed. The RDS client runs
// against a server speaking RDS's query protocol.
func TestEnvironmentRDSNamesChecked(t *testing.T) {
	h := newHarness(t)
	h.server.RDS = fakeDescribe(t)
	h.server.Network.Resolver = netguard.Static{"db-prod.abc123.us-east-1.rds.amazonaws.com": {"10.0.5.5"}, "mine.example.com": {"10.0.6.6"}}
	const endpoint = "db-prod.abc123.us-east-1.rds.amazonaws.com"
	tests := []struct {
		name  string
		extra map[string]any
		msg   string // "" when stored
	}{
		{"the instance and its group", map[string]any{"host": endpoint, "instance": "db-prod", "parameterGroup": "prod-params"}, ""},
		{"the instance alone", map[string]any{"host": endpoint, "instance": "db-prod"}, ""},
		{"no RDS names", map[string]any{"host": "mine.example.com"}, ""},
		{"another host", map[string]any{"host": "mine.example.com", "instance": "db-prod"}, capture.ErrRDSEndpoint.Message},
		{"another port", map[string]any{"host": endpoint, "port": 3307, "instance": "db-prod"}, capture.ErrRDSEndpoint.Message},
		{"another team's group", map[string]any{"host": endpoint, "instance": "db-prod", "parameterGroup": "payments-params"}, capture.ErrRDSParameterGroup.Message},
		{"a group without its instance", map[string]any{"host": endpoint, "parameterGroup": "prod-params"}, capture.ErrRDSGroupNeedsID.Message},
		{"an unknown instance", map[string]any{"host": endpoint, "instance": "db-other"}, capture.ErrRDSInstanceNotFound.Message},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			r := h.createEnvironment(pathf("rds %d", i), tt.extra)
			switch {
			case tt.msg == "" && r.Status != 200:
				t.Errorf("%d %s, want stored", r.Status, r.Body)
			case tt.msg != "" && (r.Status != 400 || r.errorMessage(t) != tt.msg):
				t.Errorf("%d %s, want 400 %q", r.Status, r.Body, tt.msg)
			}
		})
	}
}
