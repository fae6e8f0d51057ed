package recording

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/capture"
)

// marker opens every statement the recorder sends. The general log keeps it, so the
// recorder's own sessions can be told apart from the workload and left out of it.
const marker = "/* mycrt-capture */ "

// conn is one session on an environment's database, in UTC.
type conn struct {
	db   *sql.DB
	sess *sql.Conn
	user string
}

func (r *Recorder) connect(ctx context.Context, env capture.Environment) (*conn, error) {
	pass := ""
	if env.SealedPassword != "" {
		var err error
		if pass, err = r.Secrets.Open(ctx, env.ID, env.SealedPassword); err != nil {
			return nil, fmt.Errorf("cannot read the password of environment %d", env.ID)
		}
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = env.User, pass, env.DBName
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(env.Host, strconv.Itoa(env.Port))
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, 5*time.Minute, 30*time.Second
	// Only to addresses the network policy allows, checked as they are dialled.
	cfg.DialFunc = r.Network.Dialer(timeout)
	// Plain statements, not prepared ones: the log then holds the marker on every row of ours.
	cfg.InterpolateParams = true
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
		return nil, fmt.Errorf("cannot connect to %s as %s: %w", cfg.Addr, env.User, err)
	}
	c := &conn{db: db, sess: sess, user: env.User}
	// The general log table stores each row's time as wall-clock text in the zone of the
	// session that wrote it, which for the workload is the server's zone. Reading it in that
	// same zone, and turning times into Unix time on the server, is what keeps them right
	// whatever the zone and however its offset changes.
	if err := c.exec(ctx, "SET time_zone = @@GLOBAL.time_zone"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
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
