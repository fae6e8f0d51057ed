// Package store keeps environments, members and captures in one DynamoDB table through
// guregu/dynamo. Every request path is a GetItem, BatchGetItem, Query or conditional write;
// nothing scans. The key design is described in the README ("Table design").
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// Index names.
const (
	IndexEnvCaptures = "envCaptures" // envId → its captures, newest (highest id) first
	IndexUserEnvs    = "userEnvs"    // memberId → the environments the user belongs to
	IndexDue         = "due"         // status → captures by the time the scheduler must act on them
	IndexEnvStarts   = "envStarts"   // envId → its captures by listKey: newest start first
)

// Indexes are the table's global secondary indexes, all attributes projected: what
// CreateTable makes, and what the CDK stack declares.
var Indexes = []dynamo.Index{
	{Name: IndexEnvCaptures, ProjectionType: dynamo.AllProjection,
		HashKey: "envId", HashKeyType: dynamo.NumberType, RangeKey: "captureId", RangeKeyType: dynamo.NumberType},
	{Name: IndexUserEnvs, ProjectionType: dynamo.AllProjection,
		HashKey: "memberId", HashKeyType: dynamo.StringType, RangeKey: "envId", RangeKeyType: dynamo.NumberType},
	{Name: IndexDue, ProjectionType: dynamo.AllProjection,
		HashKey: "status", HashKeyType: dynamo.StringType, RangeKey: "dueAt", RangeKeyType: dynamo.NumberType},
	{Name: IndexEnvStarts, ProjectionType: dynamo.AllProjection,
		HashKey: "envId", HashKeyType: dynamo.NumberType, RangeKey: "listKey", RangeKeyType: dynamo.StringType},
}

// Store is the DynamoDB table behind the API.
type Store struct {
	db    *dynamo.DB
	table dynamo.Table
	// Quotas are held by CreateEnvironment and CreateCapture; New sets the service's own.
	Quotas capture.Quotas
}

// New returns a store over the named table.
func New(db *dynamo.DB, table string) *Store {
	return &Store{db: db, table: db.Table(table), Quotas: capture.DefaultQuotas}
}

// keys is the table's primary key; every item embeds it.
type keys struct {
	PK string `dynamo:"pk,hash"`
	SK string `dynamo:"sk,range"`
}

func envPK(id int64) string        { return "ENV#" + strconv.FormatInt(id, 10) }
func capturePK(id int64) string    { return "CAPTURE#" + strconv.FormatInt(id, 10) }
func memberSK(user string) string  { return "MEMBER#" + user }
func nameSK(nameKey string) string { return "NAME#" + nameKey }

func userPK(user string) string { return "USER#" + user }

const (
	skEnv     = "ENV"
	skCapture = "CAPTURE"
	skCounter = "COUNTER"
	skQuota   = "QUOTA" // a user's environments (USER#<user>)
	skLive    = "LIVE"  // an environment's live captures (ENV#<id>)
)

// CreateTable creates the table and its indexes unless it exists already, and waits until it
// is active. The deployed table is made by the CDK stack with the same schema.
func (s *Store) CreateTable(ctx context.Context) error {
	desc, err := s.table.Describe().Run(ctx)
	if err == nil {
		return s.addIndexes(ctx, desc)
	}
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return fmt.Errorf("describe table %s: %w", s.table.Name(), err)
	}
	ct := s.db.CreateTable(s.table.Name(), keys{}).OnDemand(true)
	for _, idx := range Indexes {
		ct.Index(idx)
	}
	if err := ct.Wait(ctx); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) { // created by a concurrent caller
			return s.table.Wait(ctx)
		}
		return fmt.Errorf("create table %s: %w", s.table.Name(), err)
	}
	return nil
}

// addIndexes adds to a table made before them the indexes it lacks, one at a time as
// DynamoDB allows, waiting for each to be active (make run's table, kept across versions; the
// stack adds them on AWS).
func (s *Store) addIndexes(ctx context.Context, desc dynamo.Description) error {
	for _, idx := range Indexes {
		if slices.ContainsFunc(desc.GSI, func(have dynamo.Index) bool { return have.Name == idx.Name }) {
			continue
		}
		if _, err := s.table.UpdateTable().CreateIndex(idx).Run(ctx); err != nil {
			return fmt.Errorf("add index %s to table %s: %w", idx.Name, s.table.Name(), err)
		}
		for {
			d, err := s.table.Describe().Run(ctx)
			if err != nil {
				return fmt.Errorf("describe table %s: %w", s.table.Name(), err)
			}
			i := slices.IndexFunc(d.GSI, func(have dynamo.Index) bool { return have.Name == idx.Name })
			if i >= 0 && d.GSI[i].Status == dynamo.ActiveStatus {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// nextID allocates the next id of a kind from an atomic counter, so ids are small, positive
// and never reused, as the contract's examples show.
func (s *Store) nextID(ctx context.Context, kind string) (int64, error) {
	var out struct {
		N int64 `dynamo:"n"`
	}
	err := s.table.Update("pk", "COUNTER#"+kind).Range("sk", skCounter).Add("n", 1).Value(ctx, &out)
	if err != nil {
		return 0, fmt.Errorf("allocate %s id: %w", kind, err)
	}
	return out.N, nil
}

// failedCondition returns the index of the first item of a cancelled transaction whose
// condition failed, or -1 if err is not such a cancellation.
func failedCondition(err error) int {
	var txe *types.TransactionCanceledException
	if !errors.As(err, &txe) {
		return -1
	}
	for i, r := range txe.CancellationReasons {
		if r.Code != nil && *r.Code == "ConditionalCheckFailed" {
			return i
		}
	}
	return -1
}

// TableName is the name of the table the store uses.
func (s *Store) TableName() string { return s.table.Name() }
