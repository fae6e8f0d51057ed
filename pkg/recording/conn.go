package recording

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/netguard"
)

// marker opens every statement the recorder sends, so that a DBA reading the log can tell
// them apart. Collections do not trust it, since any session can write it: they leave out the
// recorder's own sessions by their connection ids, which each session registers first.
const marker = "/* mycrt-capture */ "

// registerQuery is how a session learns its connection id; its text in the log tells a
// collection that a session may be about to register.
const registerQuery = "SELECT CONNECTION_ID()"

// conn is one session on an environment's database, in UTC.
type conn struct {
	db      *sql.DB
	sess    *sql.Conn
	user    string
	envID   int64             // the environment it was opened for
	claim   string            // the identity the server claims (see identity)
	group   lease.ServerGroup // the server it was proven to be among those that claim it (see place)
	server  string            // the key of that server: group.Server()
	mariaDB bool              // whether the server is MariaDB, as identity found
	id      uint64            // this session's connection id
}

// connect opens a session on env's database and finds, by proof, which server it reaches.
func (r *Recorder) connect(ctx context.Context, env capture.Environment) (*conn, error) {
	return r.open(ctx, env, false)
}

// open is connect; a partner in another connection's proof is not proven again itself.
func (r *Recorder) open(ctx context.Context, env capture.Environment, partner bool) (*conn, error) {
	pass, err := r.password(ctx, env)
	if err != nil {
		return nil, err
	}
	c, err := r.signIn(ctx, env, pass, r.pinStored(env))
	if err != nil {
		return nil, err
	}
	// The general log table stores each row's time as wall-clock text in the zone of the
	// session that wrote it, which for the workload is the server's zone. Reading it in that
	// same zone, and turning times into Unix time on the server, is what keeps them right
	// whatever the zone and however its offset changes.
	if err := c.exec(ctx, "SET time_zone = @@GLOBAL.time_zone"); err != nil {
		c.Close()
		return nil, err
	}
	if err := r.register(ctx, env, c, partner); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// signIn opens a session on env's database as env's user with password pass: through the
// network policy, with env's TLS (a certificate trusted on first use handed to pin), and with
// the reasons users see when it fails.
func (r *Recorder) signIn(ctx context.Context, env capture.Environment, pass string, pin pinFunc) (*conn, error) {
	timeout := r.timeout()
	cfg, answers, mode, err := r.config(ctx, env, pass, pin)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := db.Conn(cctx)
	if err == nil {
		err = sess.PingContext(cctx)
	}
	if err != nil {
		db.Close()
		return nil, r.explainSignIn(ctx, env, cfg, answers, mode, err)
	}
	return &conn{db: db, sess: sess, user: env.User, envID: env.ID}, nil
}

func (r *Recorder) timeout() time.Duration {
	if r.Timeout == 0 {
		return 5 * time.Second
	}
	return r.Timeout
}

// config is the driver's configuration of a session on env's database as env's user with
// password pass (see signIn), and what notes whether a MySQL server answered its dials.
func (r *Recorder) config(ctx context.Context, env capture.Environment, pass string, pin pinFunc) (*mysql.Config, *netguard.Answers, dbtls.Mode, error) {
	timeout := r.timeout()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = env.User, pass, env.DBName
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(env.Host, strconv.Itoa(env.Port))
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, 5*time.Minute, 30*time.Second
	// Only to addresses the network policy allows, checked as they are dialled; whether a
	// MySQL server answered is noted, since only then may a failure say why.
	answers := new(netguard.Answers)
	cfg.DialFunc = r.Network.WatchedDialer(timeout, answers)
	mode := dbtls.Effective(dbtls.Mode(env.TLS), env.Host, env.CACert)
	var err error
	if cfg.TLS, err = r.tlsConfig(ctx, env, mode, cfg.Addr, cfg.DialFunc, pin); err != nil {
		return nil, nil, mode, fmt.Errorf("cannot connect to %s as %s (tls %s): %w", cfg.Addr, env.User, mode, r.conceal(ctx, env, cfg.Addr, answers, err))
	}
	// Without TLS the driver would fetch the server's RSA key in clear to send a
	// caching_sha2_password or sha256_password password, and a man in the middle could send
	// its own: it gets a key nobody holds instead, so such a login fails rather than leaks.
	// (mysql_clear_password stays refused: AllowCleartextPasswords is false.)
	cfg.ServerPubKey = noKeyRetrieval()
	// Plain statements, not prepared ones: the log then holds the marker on every row of ours.
	cfg.InterpolateParams = true
	return cfg, answers, mode, nil
}

// explainSignIn is the error a user reads for a session on env that failed with err.
func (r *Recorder) explainSignIn(ctx context.Context, env capture.Environment, cfg *mysql.Config, answers *netguard.Answers, mode dbtls.Mode, err error) error {
	err = r.conceal(ctx, env, cfg.Addr, answers, err)
	if mode == dbtls.Disabled && isAccessDenied(err) && offersTLS(ctx, cfg.DialFunc, cfg.Addr) {
		// MariaDB answers a login without TLS that require_secure_transport refuses as
		// access denied, as it does a wrong password: say which is likely.
		err = fmt.Errorf("%w (the server offers TLS and may require it, with require_secure_transport: set the environment's tls to REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", err)
	} else if cfg.TLS == nil && isAccessDenied(err) {
		err = fmt.Errorf("%w (without TLS the password itself is never sent: a caching_sha2_password user then logs in only once the server has cached its password, a sha256_password user not at all; use TLS, or mysql_native_password)", err)
	}
	return fmt.Errorf("cannot connect to %s as %s (tls %s): %w", cfg.Addr, env.User, mode, explainTLS(err))
}

// register finds which server c reaches (see place) and records c's connection id as one of
// the recorder's own on it, before c sends anything but what that takes, so that no workload
// holds c's rows.
func (r *Recorder) register(ctx context.Context, env capture.Environment, c *conn, partner bool) error {
	var err error
	if c.claim, err = c.identity(ctx); err != nil {
		return err
	}
	if err := c.queryRow(ctx, registerQuery, nil, &c.id); err != nil {
		return fmt.Errorf("read the connection id: %w", err)
	}
	if err := r.place(ctx, env, c, partner); err != nil {
		return fmt.Errorf("find which server %s is: %w", env.Host, err)
	}
	c.server = c.group.Server()
	if err := r.Store.RegisterSession(ctx, c.server, c.id, r.now()); err != nil {
		return err
	}
	return nil
}

func (c *conn) Close() error {
	c.sess.Close()
	return c.db.Close()
}

func (c *conn) exec(ctx context.Context, query string, args ...any) error {
	_, err := c.sess.ExecContext(ctx, marker+query, args...)
	return c.explain(err)
}

func (c *conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.sess.QueryContext(ctx, marker+query, args...)
	return rows, c.explain(err)
}

func (c *conn) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	err := c.sess.QueryRowContext(ctx, marker+query, args...).Scan(dest...)
	return c.explain(err)
}

// now is the database server's clock.
func (c *conn) now(ctx context.Context) (time.Time, error) {
	var raw []byte
	if err := c.queryRow(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))", nil, &raw); err != nil {
		return time.Time{}, fmt.Errorf("read the server's clock: %w", err)
	}
	return parseUnix(raw)
}

// parseUnix reads a DECIMAL Unix time with up to six decimals, as UNIX_TIMESTAMP gives it,
// without the rounding a float would bring.
func parseUnix(raw []byte) (time.Time, error) {
	whole, frac, _ := strings.Cut(string(raw), ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad Unix time %q", raw)
	}
	var micros int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if micros, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("bad Unix time %q", raw)
		}
	}
	return time.Unix(sec, micros*1000).UTC(), nil
}

// unixLiteral writes t as the SQL expression of the same instant in the session's zone. It
// is a literal of digits only, so it is safe to place in a statement.
func unixLiteral(t time.Time) string {
	return fmt.Sprintf("FROM_UNIXTIME(%d.%06d)", t.Unix(), t.Nanosecond()/1000)
}

// canRead checks that the user may read the general log table.
func (c *conn) canRead(ctx context.Context, table string) error {
	rows, err := c.query(ctx, "SELECT event_time FROM "+table+" LIMIT 0")
	if err != nil {
		return err
	}
	return rows.Close()
}

// Server error numbers the recorder turns into a reason a user can act on.
const (
	errSpecificAccessDenied = 1227 // SET GLOBAL without SUPER / SYSTEM_VARIABLES_ADMIN
	errTableAccessDenied    = 1142 // SELECT on a table without the privilege
)

// explain rewords the errors that mean a missing privilege into which privilege is missing.
func (c *conn) explain(err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return err
	}
	switch me.Number {
	case errSpecificAccessDenied:
		return fmt.Errorf("the database user %s lacks the SUPER privilege (SYSTEM_VARIABLES_ADMIN on MySQL 8) needed to turn the general log on and off: %w", c.user, err)
	case errTableAccessDenied:
		if strings.Contains(me.Message, "general_log") {
			return fmt.Errorf("the database user %s lacks the SELECT privilege on mysql.general_log needed to read the workload: %w", c.user, err)
		}
	}
	return err
}

// noKeyRetrieval names an RSA public key registered with the driver whose private key was
// thrown away.
var noKeyRetrieval = sync.OnceValue(func() string {
	const name = "mycrt-no-key-retrieval"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	mysql.RegisterServerPubKey(name, &key.PublicKey)
	return name
})

// explainTLS adds what to do to a refusal for want of TLS.
func explainTLS(err error) error {
	if err != nil && strings.Contains(err.Error(), "insecure transport") {
		return fmt.Errorf("%w (the server requires TLS: set the environment's tls to REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", err)
	}
	if errors.Is(err, mysql.ErrNoTLS) {
		return fmt.Errorf("the server offers no TLS, which the environment's tls requires (PREFERRED too, once a certificate is pinned): %w", err)
	}
	if errors.Is(err, mysql.ErrCleartextPassword) {
		return errors.New("the server asks for the password in clear (mysql_clear_password), which is never sent: give the user another authentication plugin")
	}
	return err
}

func isAccessDenied(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1045
}

// offersTLS reports whether the server offers TLS, reading its greeting without logging in.
func offersTLS(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := dbtls.Probe(ctx, dial, addr)
	return err == nil
}

// conceal makes a failure before any MySQL server answered read alike whatever the port did
// (refused, silent, another protocol), so that reasons are no port scanner: the cause is for
// the log.
func (r *Recorder) conceal(ctx context.Context, env capture.Environment, addr string, answers *netguard.Answers, err error) error {
	hidden := answers.Conceal(err)
	if errors.Is(hidden, netguard.ErrNoServer) {
		r.logger().WarnContext(ctx, "no MySQL server answered", "env_id", env.ID, "addr", addr, "error", err.Error())
		return hidden
	}
	return err
}
