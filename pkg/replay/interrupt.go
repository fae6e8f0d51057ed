package replay

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// liveKey holds, in the context a session connects with, the session: track hands it its
// network connection.
type liveKey struct{}

// track wraps the network connection a session's connection is dialled on (Dialer), so that
// interrupt can break off what runs on it: statements are sent with a context the driver does
// not watch, since watching one costs two goroutine switches a statement, as long as a round
// trip on loopback.
func track(ctx context.Context, c net.Conn) net.Conn {
	s, ok := ctx.Value(liveKey{}).(*live)
	if !ok {
		return c
	}
	g := &greeted{Conn: c}
	s.mu.Lock()
	s.raw = g
	s.mu.Unlock()
	return g
}

// interrupt breaks off the statement the session is running, if any: it closes the connection
// under it and, since a server may go on with a statement whose client is gone (one waiting
// for a lock holds its transaction's locks meanwhile), kills its server session too, from a
// connection of its own. Safe from any goroutine.
func (s *live) interrupt() {
	s.mu.Lock()
	raw := s.raw
	s.mu.Unlock()
	if raw == nil || !s.busy.Load() {
		return
	}
	raw.Close()
	if id := raw.id.Load(); id != 0 {
		s.run.kill(id)
	}
}

// errNoSuchThread: the session ended by itself first.
const errNoSuchThread = 1094

// killMarker opens the KILL a run sends, so that the target's log tells it from the workload.
const killMarker = "/* mycrt-replay interrupt */ "

// kill ends server session id, as the target's user may its own sessions.
func (run *run) kill(id uint32) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(run.sessCtx), 2*time.Second)
	defer cancel()
	connector, err := run.connector(ctx, 0)
	if err != nil {
		return
	}
	c, err := connector.Connect(ctx)
	if err != nil {
		run.r.log().WarnContext(ctx, "a replayed statement was not killed on the target", "error", err.Error())
		return
	}
	defer c.Close()
	_, err = c.(driver.ExecerContext).ExecContext(ctx, killMarker+"KILL "+strconv.FormatUint(uint64(id), 10), nil)
	var me *mysql.MySQLError
	if err != nil && !(errors.As(err, &me) && me.Number == errNoSuchThread) {
		run.r.log().WarnContext(ctx, "a replayed statement was not killed on the target", "error", err.Error())
	}
}

// greeted is a network connection that reads its server's connection id from the greeting
// (the handshake packet: length, sequence, protocol version 10, the server's version ending in
// a zero byte, then the id, 4 bytes little-endian).
type greeted struct {
	net.Conn
	once sync.Mutex
	head []byte
	done bool
	id   atomic.Uint32
}

func (g *greeted) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	g.once.Lock()
	if !g.done && n > 0 {
		g.head = append(g.head, p[:n]...)
		if len(g.head) > 5 && g.head[4] != 10 || len(g.head) > 512 {
			g.done = true // not a greeting we read
		} else if i := bytes.IndexByte(g.head[min(5, len(g.head)):], 0); i >= 0 && len(g.head) >= 5+i+1+4 {
			g.id.Store(binary.LittleEndian.Uint32(g.head[5+i+1:]))
			g.done = true
		}
		if g.done {
			g.head = nil
		}
	}
	g.once.Unlock()
	return n, err
}

// SyscallConn gives the socket, as the connection dialled does: the MySQL driver may check a
// connection's liveness through it.
func (g *greeted) SyscallConn() (syscall.RawConn, error) {
	sc, ok := g.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("the connection has no socket")
	}
	return sc.SyscallConn()
}

func (run *run) stop() {
	run.stopOnce.Do(func() {
		run.stopped.Store(true)
		close(run.stopC)
		// A statement in flight may finish; one that takes longer is interrupted.
		time.AfterFunc(2*time.Second, run.interruptAll)
	})
}

func (run *run) hardStop() {
	run.hardOnce.Do(func() {
		close(run.hardC)
		run.cancelSess()
		run.interruptAll()
	})
}

// interruptAll breaks off every statement in flight.
func (run *run) interruptAll() {
	run.cancelSess()
	for _, s := range run.sessions {
		s.interrupt()
	}
}
