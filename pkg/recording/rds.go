package recording

import (
	"context"
	"errors"

	"github.com/mycrt/captures/pkg/awserr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// ParameterGroups is the part of the RDS API that turns an instance's general log on and off:
// RDS users cannot SET GLOBAL, their settings live in the instance's parameter group.
type ParameterGroups interface {
	DescribeDBParameters(ctx context.Context, in *rds.DescribeDBParametersInput, opts ...func(*rds.Options)) (*rds.DescribeDBParametersOutput, error)
	ModifyDBParameterGroup(ctx context.Context, in *rds.ModifyDBParameterGroupInput, opts ...func(*rds.Options)) (*rds.ModifyDBParameterGroupOutput, error)
	ResetDBParameterGroup(ctx context.Context, in *rds.ResetDBParameterGroupInput, opts ...func(*rds.Options)) (*rds.ResetDBParameterGroupOutput, error)
}

var errNoRDS = errors.New("the environment names an RDS parameter group, but this deployment has no RDS client")

// rdsSettings reads the group's general log settings; an empty value means the engine default.
func (r *Recorder) rdsSettings(ctx context.Context, group string) (map[string]string, error) {
	if r.RDS == nil {
		return nil, errNoRDS
	}
	out := map[string]string{settingGeneralLog: "", settingLogOutput: ""}
	pages := rds.NewDescribeDBParametersPaginator(r.RDS, &rds.DescribeDBParametersInput{DBParameterGroupName: &group})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("read parameter group "+group, err)
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.ParameterName)
			if _, ok := out[name]; ok {
				out[name] = aws.ToString(p.ParameterValue)
			}
		}
	}
	return out, nil
}

func rdsParameter(name, value string) types.Parameter {
	p := types.Parameter{ParameterName: aws.String(name), ApplyMethod: types.ApplyMethodImmediate}
	if value != "" {
		p.ParameterValue = aws.String(value)
	}
	return p
}

// rdsTurnOn sets general_log=1 and log_output=TABLE in the group, applied at once: both are
// dynamic, so the instances using the group need no reboot.
func (r *Recorder) rdsTurnOn(ctx context.Context, group string) error {
	_, err := r.RDS.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
		DBParameterGroupName: &group,
		Parameters: []types.Parameter{
			rdsParameter(settingGeneralLog, "1"),
			rdsParameter(settingLogOutput, "TABLE"),
		},
	})
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
	names := []string{settingGeneralLog, settingLogOutput}
	var set, reset []types.Parameter
	for _, name := range names {
		if v := before[name]; v != "" {
			set = append(set, rdsParameter(name, v))
		} else {
			reset = append(reset, rdsParameter(name, ""))
		}
	}
	if len(set) > 0 {
		if _, err := r.RDS.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: &group, Parameters: set}); err != nil {
			return awserr.Wrap("restore parameter group "+group, err)
		}
	}
	if len(reset) > 0 {
		if _, err := r.RDS.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: &group, Parameters: reset}); err != nil {
			return awserr.Wrap("reset parameter group "+group, err)
		}
	}
	return nil
}
