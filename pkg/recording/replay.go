package recording

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
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
// goroutine to break off a statement).
func (r *Recorder) Connector(ctx context.Context, env capture.Environment, track func(context.Context, net.Conn) net.Conn) (driver.Connector, error) {
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
	return guarded{Connector: c, explain: func(ctx context.Context, err error) error {
		return r.explainSignIn(ctx, env, cfg, answers, mode, err)
	}}, nil
}

// guarded rewords its connector's failures as the recorder's sign-in does.
type guarded struct {
	driver.Connector
	explain func(context.Context, error) error
}

func (g guarded) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := g.Connector.Connect(ctx)
	if err != nil {
		return nil, g.explain(ctx, err)
	}
	return c, nil
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
