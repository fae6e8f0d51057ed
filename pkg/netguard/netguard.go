// Package netguard decides which database addresses MyCRT may connect to. An environment names
// a host, and the worker connects there with the privileges of the stack it runs in: without a
// guard, a user could point it at the cloud's metadata service or another link-local address
// and read what it answers in a capture's reason. Addresses are checked when an environment is
// written and again when the worker connects, after resolution and for the very address it
// dials, so a name that later resolves elsewhere (DNS rebinding) gains nothing.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Policy says which addresses may be reached. The zero Policy refuses link-local, unspecified,
// multicast, broadcast and loopback addresses and allows every other.
type Policy struct {
	// AllowLoopback lets 127.0.0.0/8 and ::1 through: for `make run`, whose databases are
	// usually on the same machine. On AWS a loopback address is the function's own sandbox.
	AllowLoopback bool
	// Allowed, when not empty, is the only address ranges that may be reached.
	Allowed []netip.Prefix
	// Resolver looks names up; net.DefaultResolver when nil.
	Resolver Resolver
}

// Resolver looks names up, as net.Resolver does.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrRefused is the error of an address the policy refuses; errors.Is finds it in a
// *RefusedError.
var ErrRefused = errors.New("refused by the network policy")

// RefusedError says which address of which host the policy refused, and why.
type RefusedError struct {
	Host string // as named, when it is a name
	IP   netip.Addr
	Why  string // "a link-local address", ...
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.IP.String() {
		return fmt.Sprintf("%s resolves to %s, %s, which MyCRT may not connect to", e.Host, e.IP, e.Why)
	}
	return fmt.Sprintf("%s is %s, which MyCRT may not connect to", e.IP, e.Why)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// ParseCIDRs reads a comma-separated list of CIDRs, as ALLOWED_DB_CIDRS holds them.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("allowed database CIDRs: %q is not a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

var broadcast = netip.MustParseAddr("255.255.255.255")

// Check returns nil if ip may be reached, or a *RefusedError that says why not.
func (p Policy) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	why := ""
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		why = "a link-local address"
	case ip.IsUnspecified():
		why = "an unspecified address"
	case ip.IsMulticast():
		why = "a multicast address"
	case ip == broadcast:
		why = "the broadcast address"
	case ip.IsLoopback() && !p.AllowLoopback:
		why = "a loopback address"
	}
	if why == "" && len(p.Allowed) > 0 {
		why = "outside the allowed database networks"
		for _, prefix := range p.Allowed {
			if prefix.Contains(ip) {
				why = ""
				break
			}
		}
	}
	if why != "" {
		return &RefusedError{IP: ip, Why: why}
	}
	return nil
}

// Resolve looks host up and returns its addresses, or an error if it does not resolve or any
// of its addresses is refused (a name with one bad address is refused whole: which one a
// client gets is up to the resolver).
func (p Policy) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, p.Check(ip)
	}
	var r Resolver = net.DefaultResolver
	if p.Resolver != nil {
		r = p.Resolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if err := p.Check(ip); err != nil {
			refused := err.(*RefusedError)
			refused.Host = host
			return nil, refused
		}
	}
	return ips, nil
}

// Dialer returns a dial function, for a database driver, that connects only to addresses the
// policy allows: it resolves the host itself, checks every address, and dials the checked
// address, not the name.
func (p Policy) Dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.WatchedDialer(timeout, nil)
}

// WatchedDialer is Dialer, noting in answers (when not nil) whether a MySQL server answered a
// connection it made, so that a failure can be told to users only as far as Answers.Conceal
// allows.
func (p Policy) WatchedDialer(timeout time.Duration, answers *Answers) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if answers != nil {
			answers.dialled.Store(true) // a name that does not resolve reads as a closed port
		}
		ips, err := p.Resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		d := net.Dialer{Timeout: timeout}
		var errs []error
		for _, ip := range ips {
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil && answers != nil {
				return &greetConn{Conn: conn, answers: answers}, nil
			}
			if err == nil {
				return conn, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

// Static is a resolver with a fixed table of names, which never asks DNS: for tests, and for
// names an operator pins. A name not in it does not resolve.
type Static map[string][]string

// LookupNetIP returns host's addresses from the table.
func (s Static) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := s[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("static address of %s: %w", host, err)
		}
		out = append(out, ip)
	}
	return out, nil
}
