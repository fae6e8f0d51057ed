package recording

import (
	"context"
	"errors"

	"github.com/mycrt/captures/pkg/awserr"
)

// ParameterGroups is what turns an RDS instance's general log on and off (package awsrds on
// AWS): RDS users cannot SET GLOBAL, their settings live in the instance's parameter group.
type ParameterGroups interface {
	// Settings reads the named parameters of group; an empty value is the engine default.
	Settings(ctx context.Context, group string, names ...string) (map[string]string, error)
	// Set sets parameters of group, applied at once.
	Set(ctx context.Context, group string, values map[string]string) error
	// Reset returns the named parameters of group to the engine defaults, at once.
	Reset(ctx context.Context, group string, names ...string) error
}

var errNoRDS = errors.New("the environment names an RDS parameter group, but this deployment has no RDS client")

// rdsSettings reads the group's general log settings; an empty value means the engine default.
func (r *Recorder) rdsSettings(ctx context.Context, group string) (map[string]string, error) {
	if r.RDS == nil {
		return nil, errNoRDS
	}
	out, err := r.RDS.Settings(ctx, group, settingGeneralLog, settingLogOutput)
	if err != nil {
		return nil, awserr.Wrap("read parameter group "+group, err)
	}
	return out, nil
}

// rdsTurnOn sets general_log=1 and log_output=TABLE in the group, applied at once: both are
// dynamic, so the instances using the group need no reboot.
func (r *Recorder) rdsTurnOn(ctx context.Context, group string) error {
	err := r.RDS.Set(ctx, group, map[string]string{settingGeneralLog: "1", settingLogOutput: "TABLE"})
	if err != nil {
		return awserr.Wrap("turn the general log on in parameter group "+group, err)
	}
	return nil
}

// rdsRestore puts back the values kept in before: set ones are set again, defaults are reset.
func (r *Recorder) rdsRestore(ctx context.Context, group string, before map[string]string) error {
	if r.RDS == nil {
		return errNoRDS
	}
	// Every setting the recorder changes is named, not only those kept: a default is kept as
	// an empty value, which storage may drop.
	set := map[string]string{}
	var reset []string
	for _, name := range []string{settingGeneralLog, settingLogOutput} {
		if v := before[name]; v != "" {
			set[name] = v
		} else {
			reset = append(reset, name)
		}
	}
	if len(set) > 0 {
		if err := r.RDS.Set(ctx, group, set); err != nil {
			return awserr.Wrap("restore parameter group "+group, err)
		}
	}
	if len(reset) > 0 {
		if err := r.RDS.Reset(ctx, group, reset...); err != nil {
			return awserr.Wrap("reset parameter group "+group, err)
		}
	}
	return nil
}
