package recording

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mycrt/captures/pkg/capture"
)

// The settings a recorder changes, named as MySQL names them.
const (
	settingGeneralLog = "general_log"
	settingLogOutput  = "log_output"
)

// turnOn records c as a holder of env's log and turns the general log on, to a table. The
// settings found before are kept first, so the last holder restores what the first one found.
func (r *Recorder) turnOn(ctx context.Context, conn *conn, env capture.Environment, c capture.Capture) error {
	var before map[string]string
	var err error
	if env.ParameterGroup != "" {
		before, err = r.rdsSettings(ctx, env.ParameterGroup)
	} else {
		before, err = conn.globals(ctx)
	}
	if err != nil {
		return err
	}
	if err := r.Store.HoldLog(ctx, env.LogTarget(), c.ID, before, r.now()); err != nil {
		return err
	}
	if env.ParameterGroup != "" {
		err = r.rdsTurnOn(ctx, env.ParameterGroup)
	} else {
		err = conn.turnOn(ctx, before[settingLogOutput])
	}
	if err != nil {
		return errors.Join(err, r.Release(ctx, env, c))
	}
	r.logger().InfoContext(ctx, "general log on", "capture_id", c.ID, "target", env.LogTarget())
	return nil
}

// Release drops c's hold on env's log; the last holder restores the settings kept by the
// first. Releasing twice, or a capture that never held the log, does nothing.
func (r *Recorder) Release(ctx context.Context, env capture.Environment, c capture.Capture) error {
	before, last, err := r.Store.ReleaseLog(ctx, env.LogTarget(), c.ID, r.now())
	if err != nil || !last {
		return err
	}
	if env.ParameterGroup != "" {
		err = r.rdsRestore(ctx, env.ParameterGroup, before)
	} else {
		err = r.sqlRestore(ctx, env, before)
	}
	if err != nil {
		return fmt.Errorf("restore the general log settings of %s: %w", env.LogTarget(), err)
	}
	r.logger().InfoContext(ctx, "general log restored", "capture_id", c.ID, "target", env.LogTarget(),
		settingGeneralLog, before[settingGeneralLog], settingLogOutput, before[settingLogOutput])
	return nil
}

func (r *Recorder) sqlRestore(ctx context.Context, env capture.Environment, before map[string]string) error {
	conn, err := r.connect(ctx, env)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.restore(ctx, before)
}

// globals reads the server's general log settings.
func (c *conn) globals(ctx context.Context) (map[string]string, error) {
	var on, output string
	if err := c.queryRow(ctx, "SELECT @@GLOBAL.general_log, @@GLOBAL.log_output", nil, &on, &output); err != nil {
		return nil, fmt.Errorf("read the general log settings: %w", err)
	}
	return map[string]string{settingGeneralLog: on, settingLogOutput: output}, nil
}

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
	if before[settingGeneralLog] == "1" || strings.EqualFold(before[settingGeneralLog], "ON") {
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
