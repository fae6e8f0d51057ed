package recording

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// Connector returns a connector of sessions on env's database (env.DBName) as env's user that
// are not the recorder's own: a replay's, on its target. Every dial is checked by the network
// policy, TLS is env's (a certificate trusted on first use is pinned on env), and the password
// is opened from its seal once, here. Its sessions are as the driver opens them: nothing is
// sent on them, nothing registered, and a failure to connect reads as the recorder's do. Each
// network connection dialled is handed to track (when not nil) with the context its Connect
// was given, and the connection track returns is used (say, one the caller can close from any
// goroutine to break off a statement). With server (the key of the server the replay proved
// apart from the capture's and holds, lease.ServerGroup.Server), every session must claim to
// be on that server before it is handed over: an address that now leads elsewhere (a DNS
// change, a proxy switched) fails the connect with ErrServerMoved, so no statement is sent there.
func (r *Recorder) Connector(ctx context.Context, env capture.Environment, server string, track func(context.Context, net.Conn) net.Conn) (driver.Connector, error) {
	pass, err := r.password(ctx, env)
	if err != nil {
		return nil, err
	}
	cfg, answers, mode, err := r.config(ctx, env, pass, r.pinStored(env))
	if err != nil {
		return nil, err
	}
	// A replayed statement may run as long as it did when captured: the caller's context
	// bounds it, not a read timeout.
	cfg.ReadTimeout = 0
	cfg.InterpolateParams = false
	if track != nil {
		dial := cfg.DialFunc
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return track(ctx, c), nil
		}
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return guarded{Connector: c, want: heldClaim(server), explain: func(ctx context.Context, err error) error {
		return r.explainSignIn(ctx, env, cfg, answers, mode, err)
	}}, nil
}

// ErrServerMoved is a replay session's connect refused because the target's address no longer
// reaches the server the replay holds.
var ErrServerMoved = errors.New("the target environment no longer reaches the server the replay started on")

// checkMarker opens the statement a replay's session sends to read its server's claim, so the
// target's log tells it from the workload's.
const checkMarker = "/* mycrt-replay check */ "

// heldClaim is the claim in a held server's key ("" for none).
func heldClaim(server string) string {
	if server == "" {
		return ""
	}
	if claim, _, ok := lease.ParseServer(server); ok {
		return claim
	}
	return strings.TrimPrefix(server, lease.ServerKey(""))
}

// guarded rewords its connector's failures as the recorder's sign-in does, and holds each
// session to the claim want, when it is set.
type guarded struct {
	driver.Connector
	want    string
	explain func(context.Context, error) error
}

func (g guarded) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := g.Connector.Connect(ctx)
	if err != nil {
		return nil, g.explain(ctx, err)
	}
	if g.want == "" {
		return c, nil
	}
	claim, _, err := claimOf(ctx, func(ctx context.Context, query string, dest ...any) error {
		return rawRow(ctx, c, checkMarker+query, dest...)
	})
	if err == nil && claim != g.want {
		err = ErrServerMoved
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// rawRow runs query on a driver connection and scans its one row into dest (*string, *int64
// or *int), as database/sql would for these.
func rawRow(ctx context.Context, c driver.Conn, query string, dest ...any) error {
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return errors.New("the driver's connection cannot query")
	}
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if len(vals) != len(dest) {
		return fmt.Errorf("%d columns, want %d", len(vals), len(dest))
	}
	if err := rows.Next(vals); err != nil {
		return err
	}
	for i, v := range vals {
		var text string
		switch v := v.(type) {
		case []byte:
			text = string(v)
		case string:
			text = v
		case int64:
			text = strconv.FormatInt(v, 10)
		default:
			text = fmt.Sprint(v)
		}
		switch d := dest[i].(type) {
		case *string:
			*d = text
		case *int64:
			if *d, err = strconv.ParseInt(text, 10, 64); err != nil {
				return err
			}
		case *int:
			if *d, err = strconv.Atoi(text); err != nil {
				return err
			}
		default:
			return fmt.Errorf("cannot scan into %T", dest[i])
		}
	}
	return nil
}

func (r *Recorder) password(ctx context.Context, env capture.Environment) (string, error) {
	if env.SealedPassword == "" {
		return "", nil
	}
	pass, err := r.Secrets.Open(ctx, env.ID, env.SealedPassword)
	if err != nil {
		return "", fmt.Errorf("cannot read the password of environment %d", env.ID)
	}
	return pass, nil
}

// SameServer reports whether target's database is on the server that source's is, by the
// named-lock proof (see prove) over one connection to each, connected as the recorder's own
// are. When source cannot be reached, or the proof cannot be made, it falls back to what the
// servers claim: the two are taken to be one when target's server claims the identity of
// recorded, the key of the server the capture recorded (capture.Capture.Server), so that a
// source that is down never lets a replay into itself. A target that cannot be reached is an
// error.
func (r *Recorder) SameServer(ctx context.Context, source, target capture.Environment, recorded string) (bool, error) {
	t, err := r.connect(ctx, target)
	if err != nil {
		return false, err
	}
	defer t.Close()
	s, err := r.connect(ctx, source)
	if err == nil {
		defer s.Close()
		pctx, cancel := context.WithTimeout(ctx, proofTimeout)
		v, perr := prove(pctx, t, s)
		cancel()
		switch {
		case perr == nil && v == same:
			return true, nil
		case perr == nil && v == different:
			return false, nil
		}
		err = perr
	}
	r.logger().WarnContext(ctx, "the capture's server could not be proven apart from the target: comparing their claims",
		"env_id", source.ID, "target_env_id", target.ID, "error", fmt.Sprint(err))
	claim, _, ok := lease.ParseServer(recorded)
	if !ok {
		claim = strings.TrimPrefix(recorded, lease.ServerKey(""))
	}
	return claim != "" && claim == t.claim, nil
}
