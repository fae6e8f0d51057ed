// Package rdsinstances asks RDS about the instances environments name, so that their endpoint
// and parameter group can be checked before an environment is stored.
package rdsinstances

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
)

// describer is the one RDS call used.
type describer interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
}

// Instances reads instances from RDS.
type Instances struct {
	Client describer
}

// Instance describes instance id: capture.ErrRDSInstanceNotFound if RDS has none by that
// name, an error of kind capture.Unavailable if RDS cannot be asked.
func (i Instances) Instance(ctx context.Context, id string) (capture.RDSInstance, error) {
	out, err := i.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &id})
	var missing *types.DBInstanceNotFoundFault
	if errors.As(err, &missing) {
		return capture.RDSInstance{}, capture.ErrRDSInstanceNotFound
	}
	if err != nil {
		return capture.RDSInstance{}, fmt.Errorf("%w: %w", capture.ErrRDSUnavailable, awserr.Wrap("describe instance "+id, err))
	}
	if len(out.DBInstances) == 0 {
		return capture.RDSInstance{}, capture.ErrRDSInstanceNotFound
	}
	db := out.DBInstances[0]
	inst := capture.RDSInstance{ID: aws.ToString(db.DBInstanceIdentifier)}
	if db.Endpoint != nil {
		inst.Host, inst.Port = aws.ToString(db.Endpoint.Address), int(aws.ToInt32(db.Endpoint.Port))
	}
	for _, g := range db.DBParameterGroups {
		inst.ParameterGroups = append(inst.ParameterGroups, aws.ToString(g.DBParameterGroupName))
	}
	return inst, nil
}
