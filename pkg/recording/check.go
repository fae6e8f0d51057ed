package recording

import (
	"context"
	"fmt"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
)

// Check signs in to env's database with password as a capture's recorder would (the network
// policy, env's TLS, the same reasons when it fails) and checks what a capture needs: that the
// user may switch the general log (unless an RDS parameter group does) and read it. What is
// optional is reported, never failed on: TLS, and the rotation procedures. It writes nothing
// anywhere: a certificate trusted on first use is accepted for the check and reported, for
// the caller to pin. An error is what failed, worded for the user.
//
// The check's own session is not one a collection knows to leave out (it is registered on no
// server), so it first turns its own logging off (sql_log_off, which the SUPER a capture
// needs allows): a capture recording the server meanwhile sees at most its Connect and that
// statement.
func (r *Recorder) Check(ctx context.Context, env capture.Environment, password string) (capture.EnvCheck, error) {
	return r.check(ctx, env, password, true)
}

// CheckTarget is Check for an environment that is only a replay target: it signs in the same
// way and fails as Check does on that, but the general log's privileges, which a replay does not
// need, are reported rather than required (SwitchesLog "" and ReadsLog false where lacking).
func (r *Recorder) CheckTarget(ctx context.Context, env capture.Environment, password string) (capture.EnvCheck, error) {
	return r.check(ctx, env, password, false)
}

func (r *Recorder) check(ctx context.Context, env capture.Environment, password string, captures bool) (capture.EnvCheck, error) {
	out := capture.EnvCheck{TLS: string(dbtls.Effective(dbtls.Mode(env.TLS), env.Host, env.CACert)), Fingerprint: env.TLSFingerprint}
	c, err := r.signIn(ctx, env, password, func(_ context.Context, fingerprint string) (string, error) {
		out.Fingerprint = fingerprint
		return fingerprint, nil
	})
	if err != nil {
		return out, err
	}
	defer c.Close()
	if err := c.exec(ctx, "SET SESSION sql_log_off = ON"); err != nil {
		r.logger().InfoContext(ctx, "the check's session is logged: sql_log_off refused", "error", err.Error())
	}
	if err := c.queryRow(ctx, "SELECT VERSION()", nil, &out.Version); err != nil {
		return out, fmt.Errorf("read the server's version: %w", err)
	}
	var name string
	if err := c.queryRow(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'", nil, &name, &out.Cipher); err != nil {
		return out, fmt.Errorf("read the connection's TLS: %w", err)
	}
	if out.Encrypted = out.Cipher != ""; !out.Encrypted {
		out.Fingerprint = ""
	}
	out.SwitchesLog = capture.SwitchOverRDS
	if env.ParameterGroup == "" {
		// The setting it has: the privilege is checked, nothing changes.
		out.SwitchesLog = capture.SwitchOverSQL
		if err := c.exec(ctx, "SET GLOBAL general_log = @@GLOBAL.general_log"); err != nil {
			if captures {
				return out, err
			}
			out.SwitchesLog = ""
		}
	}
	if err := c.canRead(ctx, "mysql.general_log"); err != nil {
		if captures {
			return out, err
		}
		return out, nil // what follows reads the log's tables
	}
	out.ReadsLog = true
	src, err := r.logSource(ctx, c)
	if err != nil {
		return out, err
	}
	out.Rotation = map[source]string{ownRotation: capture.RotationOwn, rdsRotation: capture.RotationRDS, inPlace: capture.RotationNone}[src]
	return out, nil
}
