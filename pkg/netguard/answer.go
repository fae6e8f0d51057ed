package netguard

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
)

// ErrNoServer is the error of a database connection that no MySQL server answered;
// errors.Is finds it in an *UnreachableError.
var ErrNoServer = errors.New("no MySQL server answered")

// UnreachableError is a connection that failed before any MySQL server answered: the name did
// not resolve, the port refused, nothing answered in time, the peer hung up, or what answered
// is not MySQL. Its text is the same whichever it was, so that what users read (a capture's
// reason, a lease's last error) cannot be used to scan the networks the worker reaches for
// open ports. Err keeps the cause, for logs only.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return ErrNoServer.Error() }

// Is makes errors.Is(err, ErrNoServer) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrNoServer }

// Unwrap gives the cause, for logs and errors.Is.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Answers notes whether a MySQL server answered any connection a WatchedDialer made. The zero
// Answers has seen none.
type Answers struct{ dialled, greeted atomic.Bool }

// Greeted reports whether some connection received what a MySQL server sends first: its
// handshake (protocol 10), or the error packet it sends instead (too many connections, a host
// not allowed).
func (a *Answers) Greeted() bool { return a.greeted.Load() }

// Conceal returns err as users may read it: as it is if a MySQL server answered (its own
// refusals, TLS and login failures say what to fix), if nothing was dialled (the error is the
// environment's settings', say, which depend on the environment alone) or if the policy
// refused the address (likewise); otherwise an *UnreachableError holding it.
func (a *Answers) Conceal(err error) error {
	if err == nil || !a.dialled.Load() || a.Greeted() || errors.Is(err, ErrRefused) {
		return err
	}
	return &UnreachableError{Err: err}
}

// greetConn notes in answers whether the first bytes read are a MySQL server's greeting.
type greetConn struct {
	net.Conn
	answers *Answers
	head    [5]byte // a packet header (3 bytes of length, 1 of sequence), then the first payload byte
	seen    int
}

func (c *greetConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.seen < len(c.head) && n > 0 {
		c.seen += copy(c.head[c.seen:], p[:n])
		if c.seen == len(c.head) && isGreeting(c.head) {
			c.answers.greeted.Store(true)
		}
	}
	return n, err
}

// SyscallConn gives the socket, as the connection dialled does: the MySQL driver checks a
// pooled connection's liveness through it.
func (c *greetConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("netguard: the connection has no socket")
	}
	return sc.SyscallConn()
}

// isGreeting reports whether head opens the first packet a MySQL server sends: sequence 0, a
// payload of some length, starting with protocol version 10 or 0xff (an error).
func isGreeting(head [5]byte) bool {
	length := int(head[0]) | int(head[1])<<8 | int(head[2])<<16
	return length > 0 && head[3] == 0 && (head[4] == 10 || head[4] == 0xff)
}
