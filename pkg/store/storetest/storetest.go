// Package storetest gives tests a store on a fresh table of the DynamoDB Local that
// `make test` starts, and counts the DynamoDB calls made through it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/store"
)

// Endpoint is the DynamoDB Local the tests use; without one the test fails, since a skipped
// store test proves nothing.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv(lambdas.EnvDynamoDBEndpoint)
	if ep == "" {
		t.Fatal("DYNAMODB_ENDPOINT is not set: run the tests with `make test`, which starts DynamoDB Local")
	}
	return ep
}

// New returns a store on a new table of its own, with every DynamoDB call counted in calls
// (which may be nil). The table is deleted when the test ends.
func New(t testing.TB, calls *Calls) *store.Store {
	t.Helper()
	var opts []func(*dynamodb.Options)
	if calls != nil {
		opts = append(opts, calls.option)
	}
	db := store.Connect(aws.Config{}, Endpoint(t), opts...)
	name := "test-" + randomHex()
	st := store.New(db, name)
	if err := st.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Table(name).DeleteTable().Run(context.Background()) })
	calls.Reset()
	return st
}

// DB returns a raw handle on the same server, for tests that measure or inspect below the store.
func DB(t testing.TB) *dynamo.DB {
	t.Helper()
	return store.Connect(aws.Config{}, Endpoint(t))
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Calls counts DynamoDB operations (round trips, retries included) by name.
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *Calls) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		// Finalize runs once per attempt, so a retried call counts each time it goes out.
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				if c.n == nil {
					c.n = map[string]int{}
				}
				c.n[middleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// Reset forgets the calls counted so far.
func (c *Calls) Reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.n = nil
	c.mu.Unlock()
}

// Total returns how many calls were made since the last Reset, and by operation.
func (c *Calls) Total() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	by := make(map[string]int, len(c.n))
	for k, v := range c.n {
		total += v
		by[k] = v
	}
	return total, by
}
