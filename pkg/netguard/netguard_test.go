package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/netguard"
)

func TestCheck(t *testing.T) {
	allowed, err := netguard.ParseCIDRs("10.0.0.0/8, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip     string
		policy netguard.Policy
		why    string // "" when allowed
	}{
		{"169.254.169.254", netguard.Policy{AllowLoopback: true}, "link-local"},
		{"fe80::1", netguard.Policy{AllowLoopback: true}, "link-local"},
		{"::ffff:169.254.169.254", netguard.Policy{}, "link-local"},
		{"0.0.0.0", netguard.Policy{}, "unspecified"},
		{"::", netguard.Policy{}, "unspecified"},
		{"224.0.0.1", netguard.Policy{}, "link-local"}, // link-local multicast
		{"239.1.1.1", netguard.Policy{}, "multicast"},
		{"ff02::1", netguard.Policy{}, "link-local"},
		{"ff05::1", netguard.Policy{}, "multicast"},
		{"255.255.255.255", netguard.Policy{}, "broadcast"},
		{"127.0.0.1", netguard.Policy{}, "loopback"},
		{"::1", netguard.Policy{}, "loopback"},
		{"127.0.0.1", netguard.Policy{AllowLoopback: true}, ""},
		{"10.1.2.3", netguard.Policy{}, ""},
		{"203.0.113.7", netguard.Policy{}, ""},
		{"10.1.2.3", netguard.Policy{Allowed: allowed}, ""},
		{"2001:db8::5", netguard.Policy{Allowed: allowed}, ""},
		{"192.168.1.5", netguard.Policy{Allowed: allowed}, "outside the allowed"},
		{"169.254.0.1", netguard.Policy{Allowed: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, "link-local"},
	}
	for _, tt := range tests {
		err := tt.policy.Check(netip.MustParseAddr(tt.ip))
		switch {
		case tt.why == "" && err != nil:
			t.Errorf("Check(%s) = %v, want allowed", tt.ip, err)
		case tt.why != "" && (!errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), tt.why)):
			t.Errorf("Check(%s) = %v, want refused as %s", tt.ip, err, tt.why)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	if _, err := netguard.ParseCIDRs("10.0.0.0/8,nonsense"); err == nil {
		t.Error("nonsense accepted")
	}
	if got, err := netguard.ParseCIDRs(" "); err != nil || len(got) != 0 {
		t.Errorf("blank: %v, %v", got, err)
	}
}

// TestDialerChecksWhatItDials: a name that resolves to a refused address (as after DNS
// rebinding) is never dialled; an allowed one is dialled by the address that was checked.
func TestDialerChecksWhatItDials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	resolver := netguard.Static{"db.test": {"127.0.0.1"}, "rebound.test": {"169.254.169.254"}, "mixed.test": {"127.0.0.1", "fe80::1"}}
	tests := []struct {
		host   string
		policy netguard.Policy
		ok     bool
	}{
		{"db.test", netguard.Policy{AllowLoopback: true, Resolver: resolver}, true},
		{"db.test", netguard.Policy{Resolver: resolver}, false},
		{"rebound.test", netguard.Policy{AllowLoopback: true, Resolver: resolver}, false},
		{"mixed.test", netguard.Policy{AllowLoopback: true, Resolver: resolver}, false},
		{"169.254.169.254", netguard.Policy{AllowLoopback: true, Resolver: resolver}, false},
		{"nowhere.test", netguard.Policy{AllowLoopback: true, Resolver: resolver}, false},
	}
	for _, tt := range tests {
		conn, err := tt.policy.Dialer(time.Second)(context.Background(), "tcp", net.JoinHostPort(tt.host, port))
		if tt.ok != (err == nil) {
			t.Errorf("dial %s: %v, want ok %v", tt.host, err, tt.ok)
		}
		if conn != nil {
			conn.Close()
		}
		if !tt.ok && err != nil && strings.HasSuffix(tt.host, ".test") && tt.host != "nowhere.test" && !errors.Is(err, netguard.ErrRefused) && tt.policy.AllowLoopback {
			t.Errorf("dial %s: %v, want refused by the policy", tt.host, err)
		}
	}
}
