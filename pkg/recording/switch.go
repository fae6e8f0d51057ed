package recording

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// The settings a recorder changes, named as MySQL names them.
const (
	settingGeneralLog = "general_log"
	settingLogOutput  = "log_output"
)

// leaseKey is the key of the lease on what turning env's general log on changes: its RDS
// parameter group, or the server conn is connected to, as the server itself identifies.
func leaseKey(conn *conn, env capture.Environment) string {
	if env.ParameterGroup != "" {
		return lease.RDSKey(env.ParameterGroup)
	}
	return conn.server
}

// turnOn makes c a holder of the lease on env's log, then turns the general log on, to a
// table. The settings found are kept first, so that the last holder restores what the first
// found. It returns the lease's key, which it records on c before holding, so that whatever
// ends c can let go; if turning the log on fails it lets go itself.
func (r *Recorder) turnOn(ctx context.Context, conn *conn, env capture.Environment, c capture.Capture) (string, error) {
	key := leaseKey(conn, env)
	if err := r.Store.SetCaptureLease(ctx, c.ID, key, conn.server); err != nil {
		return "", err
	}
	if err := r.Store.SetEnvironmentLease(ctx, env.ID, key); err != nil {
		r.logger().WarnContext(ctx, "environment's lease not recorded", "env_id", env.ID, "error", err.Error())
	}
	before, err := r.hold(ctx, key, c, env, func() (map[string]string, error) {
		if env.ParameterGroup != "" {
			return r.rdsSettings(ctx, env.ParameterGroup)
		}
		found, err := conn.globals(ctx)
		if err != nil {
			return nil, err
		}
		return r.adopt(ctx, conn, found)
	})
	if err != nil {
		return "", err
	}
	c.Lease = key
	if env.ParameterGroup != "" {
		err = r.rdsTurnOn(ctx, env.ParameterGroup)
	} else {
		err = conn.turnOn(ctx, before[settingLogOutput])
	}
	if err != nil {
		return "", errors.Join(err, r.Release(ctx, env, c))
	}
	r.logger().InfoContext(ctx, "general log on", "capture_id", c.ID, "lease", key)
	return key, nil
}

// hold takes c's hold on the lease with the settings as settings reads them, and returns
// them. Settings read while a restore is under way would be the ones it is undoing, so it
// reads the lease, then the settings, and holds only if no restore was claimed in between;
// otherwise it waits and reads again.
func (r *Recorder) hold(ctx context.Context, key string, c capture.Capture, env capture.Environment, settings func() (map[string]string, error)) (map[string]string, error) {
	deadline := time.Now().Add(restoreFor)
	for {
		l, err := r.Store.Lease(ctx, key)
		if err != nil {
			return nil, err
		}
		before, err := settings()
		if err != nil {
			return nil, err
		}
		now := r.now()
		err = r.Store.HoldLog(ctx, key, c.ID, env.ID, before, l.Restores, now, now.Add(r.sweepEvery()))
		if !errors.Is(err, capture.ErrChanged) || time.Now().After(deadline) {
			return before, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Release drops c's hold on its log lease; the last holder restores the settings kept by the
// first. Releasing twice, or a capture that never held, does nothing. A restore that fails is
// not lost: the lease stays restore-pending and the scheduler's sweeps try it again (Sweep).
func (r *Recorder) Release(ctx context.Context, env capture.Environment, c capture.Capture) error {
	key := c.Lease
	if key == "" {
		if env.ParameterGroup == "" {
			return nil // it never found its server, so it never held its log
		}
		key = lease.RDSKey(env.ParameterGroup)
	}
	last, err := r.Store.ReleaseLog(ctx, key, c.ID, r.now())
	if err != nil || !last {
		return err
	}
	return r.Restore(ctx, key)
}

// restoreFor is how long a restorer may hold its claim on a lease before another may take
// over, and how long a new holder waits for a restore under way.
const restoreFor = time.Minute

// Restore puts back the settings a lease with no holders kept, if another restorer is not at
// it already. On failure the lease stays restore-pending, with the reason and a later due time.
func (r *Recorder) Restore(ctx context.Context, key string) error {
	now := r.now()
	until := now.Add(restoreFor)
	l, err := r.Store.ClaimRestore(ctx, key, now, until)
	if errors.Is(err, capture.ErrChanged) {
		return nil // held again, restored, or being restored
	}
	if err != nil {
		return err
	}
	// The claim is let go even if ctx ended, so that the next sweep need not wait it out.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.restore(ctx, l); err != nil {
		now := r.now()
		next := now.Add(r.restoreRetry(l.Attempts + 1))
		r.logger().WarnContext(ctx, "general log not restored; retried later", "lease", key,
			"attempt", l.Attempts+1, "retry_at", next.Format(time.RFC3339), "error", awserr.Detail(err))
		return errors.Join(fmt.Errorf("restore the general log settings of %s: %w", key, err),
			r.Store.RestoreFailed(sctx, key, until, err.Error(), now, next))
	}
	r.logger().InfoContext(ctx, "general log restored", "lease", key,
		settingGeneralLog, l.Before[settingGeneralLog], settingLogOutput, l.Before[settingLogOutput])
	return r.Store.RestoreDone(sctx, key, until, r.now())
}

// restore puts l's kept settings back: in its RDS parameter group, or on its server through
// one of the environments that reached it and still reach the same server.
func (r *Recorder) restore(ctx context.Context, l lease.Lease) error {
	if group, ok := strings.CutPrefix(l.Key, lease.RDSKey("")); ok {
		return r.rdsRestore(ctx, group, l.Before)
	}
	if peer, err := r.peerHolding(ctx, l.Key); err != nil {
		return err
	} else if peer != "" {
		return errPeerHolds
	}
	var errs []error
	for i := len(l.Via) - 1; i >= 0; i-- { // the most recent environment first
		env, err := r.Store.Environment(ctx, l.Via[i])
		if errors.Is(err, capture.ErrEnvNotFound) {
			continue
		}
		if err == nil {
			err = r.sqlRestore(ctx, env, l)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return errors.New("no environment reaches the server any more")
	}
	return errors.Join(errs...)
}

func (r *Recorder) sqlRestore(ctx context.Context, env capture.Environment, l lease.Lease) error {
	conn, err := r.connect(ctx, env)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The environment may have been pointed at another server since: restore only the one
	// whose settings were kept.
	if env.ParameterGroup != "" || !conn.reaches(l.Key) {
		return fmt.Errorf("%s is no longer the server whose settings were kept", net.JoinHostPort(env.Host, strconv.Itoa(env.Port)))
	}
	if err := conn.restore(ctx, l.Before); err != nil {
		return err
	}
	if logsToTable(l.Before) {
		return nil // what the table holds since is the DBA's
	}
	// What the log wrote after the last collection, before it was off, is nobody's.
	if src, err := r.logSource(ctx, conn); err == nil && src == ownRotation {
		if err := conn.exec(ctx, "CALL mysql.mycrt_discard_general_log"); err != nil {
			r.logger().WarnContext(ctx, "the general log's last rows not discarded; the next capture keeps them", "lease", l.Key, "error", err.Error())
		}
	}
	return nil
}

// errPeerHolds postpones a restore while a server that could not be told apart from the
// lease's is recorded: the two may be one, and its captures still need the log on.
var errPeerHolds = errors.New("a server claiming the same identity, which could not be proven to be another, is still recorded: the settings are restored once its captures stop")

// Sweep looks after a lease the scheduler found due: it drops holders whose captures are gone
// or no longer live (deleted, failed or done without letting go), restores the settings once
// nothing holds it, and otherwise makes it due again after a while.
func (r *Recorder) Sweep(ctx context.Context, key string) error {
	l, err := r.Store.Lease(ctx, key)
	if err != nil {
		return err
	}
	held := 0
	for _, id := range l.Holders {
		c, err := r.Store.Capture(ctx, id)
		switch {
		case err == nil && c.Status.MayRecord():
			held++
			continue
		case err != nil && !errors.Is(err, capture.ErrCaptureNotFound):
			return err
		}
		r.logger().WarnContext(ctx, "holder gone without letting go of its log", "lease", key, "capture_id", id)
		if _, err := r.Store.ReleaseLog(ctx, key, id, r.now()); err != nil {
			return err
		}
	}
	if held > 0 {
		now := r.now()
		return r.Store.SweepLater(ctx, key, now, now.Add(r.sweepEvery()))
	}
	return r.Restore(ctx, key)
}

// globals reads the server's general log settings.
func (c *conn) globals(ctx context.Context) (map[string]string, error) {
	var on, output string
	if err := c.queryRow(ctx, "SELECT @@GLOBAL.general_log, @@GLOBAL.log_output", nil, &on, &output); err != nil {
		return nil, fmt.Errorf("read the general log settings: %w", err)
	}
	return map[string]string{settingGeneralLog: on, settingLogOutput: output}, nil
}

// logsToTable reports whether settings, as a lease kept them, had the general log on and
// written to a table.
func logsToTable(settings map[string]string) bool {
	return isOn(settings[settingGeneralLog]) && strings.Contains(strings.ToUpper(settings[settingLogOutput]), "TABLE")
}

func isOn(v string) bool { return v == "1" || strings.EqualFold(v, "ON") }

// withTable is log_output with TABLE added, keeping any FILE logging the server already does.
func withTable(output string) string {
	parts := strings.Split(strings.ToUpper(output), ",")
	var kept []string
	for _, p := range parts {
		switch p {
		case "TABLE":
			return strings.ToUpper(output)
		case "NONE", "":
		default:
			kept = append(kept, p)
		}
	}
	return strings.Join(append(kept, "TABLE"), ",")
}

func (c *conn) turnOn(ctx context.Context, output string) error {
	if err := c.exec(ctx, "SET GLOBAL log_output = ?", withTable(output)); err != nil {
		return fmt.Errorf("set log_output: %w", err)
	}
	if err := c.exec(ctx, "SET GLOBAL general_log = ON"); err != nil {
		return fmt.Errorf("turn the general log on: %w", err)
	}
	return nil
}

func (c *conn) restore(ctx context.Context, before map[string]string) error {
	on := "OFF"
	if isOn(before[settingGeneralLog]) {
		on = "ON"
	}
	if err := c.exec(ctx, "SET GLOBAL general_log = "+on); err != nil {
		return err
	}
	if out := before[settingLogOutput]; out != "" {
		return c.exec(ctx, "SET GLOBAL log_output = ?", out)
	}
	return nil
}

// identity is how the server names itself: MySQL's server_uuid, or on MariaDB, which has none,
// its server_id, host name and port. Two environments naming one server differently (an IP and
// a host name, say) find the same identity, and so share one lease.
func (c *conn) identity(ctx context.Context) (string, error) {
	claim, mariaDB, err := claimOf(ctx, func(ctx context.Context, query string, dest ...any) error {
		return c.queryRow(ctx, query, nil, dest...)
	})
	c.mariaDB = mariaDB
	return claim, err
}

// claimOf reads the identity a server claims (lease.MySQLClaim or MariaDBClaim) through row,
// which runs a query of one row into dest.
func claimOf(ctx context.Context, row func(ctx context.Context, query string, dest ...any) error) (claim string, mariaDB bool, err error) {
	var version string
	if err := row(ctx, "SELECT VERSION()", &version); err != nil {
		return "", false, fmt.Errorf("read the server's identity: %w", err)
	}
	if !strings.Contains(version, "MariaDB") {
		var uuid string
		if err := row(ctx, "SELECT @@GLOBAL.server_uuid", &uuid); err != nil {
			return "", false, fmt.Errorf("read the server's identity: %w", err)
		}
		return lease.MySQLClaim(uuid), false, nil
	}
	var (
		id   int64
		host string
		port int
	)
	if err := row(ctx, "SELECT @@GLOBAL.server_id, @@GLOBAL.hostname, @@GLOBAL.port", &id, &host, &port); err != nil {
		return "", true, fmt.Errorf("read the server's identity: %w", err)
	}
	return lease.MariaDBClaim(id, host, port), true, nil
}
