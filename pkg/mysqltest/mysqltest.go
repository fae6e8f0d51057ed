// Package mysqltest starts private MariaDB servers for tests: each test gets its own server in
// its own temporary data folder on a free port, so that tests which turn the global general log
// on and off cannot disturb each other. mariadb-server comes from Debian's packages; `make test`
// installs it when it is missing.
package mysqltest

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TimeZone is every test server's default time zone: not UTC, and not a whole hour, so that
// code which forgets to compare times in the server's zone fails loudly.
const TimeZone = "+05:30"

// Server is a running private MariaDB, reachable as root without a password over TCP.
type Server struct {
	Host      string
	Port      int
	dir       string
	clientTLS *tls.Config
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: install mariadb-server (make test does)", name)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server for t and stops it when t ends. It fails t if MariaDB is not installed:
// a test that needs a database is not skipped.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// Options change how a server is started.
type Options struct {
	Args      []string    // more mariadbd options
	ClientTLS *tls.Config // how this package's own connections (root, As) use TLS
	// Twin starts the server on [::1] at Twin's port: a second server on the same machine and
	// port, whose host name, port and default server id are Twin's, so it claims Twin's
	// identity (lease.MariaDBClaim) while being another server.
	Twin *Server
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s, stop, err := start(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// StartDetached starts a server in dir for a benchmark or tool that is not a test; call stop
// when done.
func StartDetached(dir string) (*Server, func(), error) { return start(dir, Options{}) }

func start(dir string, o Options) (*Server, func(), error) {
	server, err := binary("mariadbd")
	if err != nil {
		return nil, nil, err
	}
	tpl, err := templateData()
	if err != nil {
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	if err := copyData(tpl, data); err != nil {
		return nil, nil, fmt.Errorf("copy the template data folder: %w", err)
	}
	host, port := "127.0.0.1", 0
	if o.Twin != nil {
		host, port = "::1", o.Twin.Port
	} else if port, err = freePort(); err != nil {
		return nil, nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "mariadbd.log"))
	if err != nil {
		return nil, nil, err
	}
	// Its own temporary folder too: temporary tables in the shared /tmp were once seen gone
	// from under a server ("Error on delete of '/tmp/#sql-temptable-…'").
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, nil, err
	}
	proc := exec.Command(server, "--no-defaults", "--datadir="+data, "--user="+currentUser(), "--tmpdir="+tmp,
		"--bind-address="+host, "--port="+strconv.Itoa(port),
		"--socket="+filepath.Join(dir, "mysqld.sock"), "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--skip-log-bin", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
		"--default-time-zone="+TimeZone, "--general-log-file="+filepath.Join(dir, "general.log"))
	proc.Args = append(proc.Args, o.Args...)
	proc.Stdout, proc.Stderr = logFile, logFile
	if err := proc.Start(); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("start mariadbd: %w", err)
	}
	exited := make(chan struct{})
	go func() { proc.Wait(); logFile.Close(); close(exited) }()
	stop := func() {
		proc.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			proc.Process.Kill()
			<-exited
		}
	}
	s := &Server{Host: host, Port: port, dir: dir, clientTLS: o.ClientTLS}
	deadline := time.Now().Add(30 * time.Second)
	for {
		db := s.open("root", "", "")
		err := db.Ping()
		db.Close()
		if err == nil {
			return s, stop, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "mariadbd.log"))
			return nil, nil, fmt.Errorf("mariadbd exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("mariadbd did not accept connections: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Getuid())
}

func (s *Server) open(user, pass, db string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = user, pass, db
	cfg.Net, cfg.Addr = "tcp", s.Addr()
	cfg.ParseTime = true
	cfg.TLS = s.clientTLS
	conn, _ := mysql.NewConnector(cfg)
	return sql.OpenDB(conn)
}

// Root opens a connection pool as root, closed when t ends.
func (s *Server) Root(t testing.TB) *sql.DB { return s.As(t, "root", "", "") }

// As opens a connection pool as user, closed when t ends.
func (s *Server) As(t testing.TB, user, pass, db string) *sql.DB {
	t.Helper()
	pool := s.open(user, pass, db)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// Exec runs statements as root, failing t on the first error.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	db := s.open("root", "", "")
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// AwaitClock returns once the server's clock (NOW(6), which stamps its general log's rows) has
// moved d past what it read at the call, failing t if that takes over 10 s longer: every row
// the server logged before the call is then older than d by the server's own clock.
func (s *Server) AwaitClock(t testing.TB, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	db := s.open("root", "", "")
	defer db.Close()
	conn, err := db.Conn(ctx) // one session, which keeps @mycrt_mark
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET @mycrt_mark = NOW(6) + INTERVAL ? MICROSECOND", d.Microseconds()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(d + 10*time.Second)
	for {
		var left int64 // µs until the mark, by the server's clock
		if err := conn.QueryRowContext(ctx, "SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), @mycrt_mark)").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left < 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's clock is still %d µs short of %s past the call", left, d)
		}
		time.Sleep(min(time.Duration(left+1)*time.Microsecond, 50*time.Millisecond))
	}
}
