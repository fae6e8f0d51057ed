package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mycrt/captures/pkg/store/storetest"
)

// BenchmarkEndpoints times each endpoint's handler in process against DynamoDB Local
// ("handler": auth, decoding, the store, JSON) beside the raw DynamoDB calls that endpoint
// cannot do without, made straight through the SDK ("raw"). `make bench` prints the ratios.
func BenchmarkEndpoints(b *testing.B) {
	h := newHarness(b)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "benchmarked", nil)
	// Creations go to an environment of their own, so the listed one does not grow.
	sink := h.environment("alice", nil)
	handler := h.server.Handler()
	token := "Bearer " + h.token("alice")
	client := storetest.DB(b).Client()
	table := aws.String(h.server.Store.TableName())
	ctx := context.Background()

	str := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	num := func(n int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
	}
	key := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
	}
	envPK := "ENV#" + strconv.FormatInt(env.ID, 10)
	sinkPK := "ENV#" + strconv.FormatInt(sink.ID, 10)
	capKey := key("CAPTURE#"+strconv.FormatInt(c.ID, 10), "CAPTURE")
	memberKey := key(envPK, "MEMBER#alice")
	getItem := func(k map[string]types.AttributeValue) error {
		_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: k})
		return err
	}
	access := func() error {
		_, err := client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			*table: {Keys: []map[string]types.AttributeValue{key(envPK, "ENV"), memberKey}},
		}})
		return err
	}
	queryEnv := func() error {
		_, err := client.Query(ctx, &dynamodb.QueryInput{
			TableName: table, IndexName: aws.String("envCaptures"), ScanIndexForward: aws.Bool(false),
			KeyConditionExpression:    aws.String("envId = :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(env.ID)},
		})
		return err
	}
	counter := func() error {
		_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: table, Key: key("COUNTER#bench", "COUNTER"), UpdateExpression: aws.String("ADD n :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}, ReturnValues: types.ReturnValueUpdatedNew,
		})
		return err
	}
	seq := 0
	txPut := func() error {
		seq++
		id := 1_000_000 + int64(seq)
		_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: table, Item: map[string]types.AttributeValue{
				"pk": str("CAPTURE#" + strconv.FormatInt(id, 10)), "sk": str("CAPTURE"), "envId": num(sink.ID), "captureId": num(id),
				"name": str("raw"), "status": str("STARTED")}, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &types.Put{TableName: table, Item: map[string]types.AttributeValue{
				"pk": str(sinkPK), "sk": str("NAME#raw " + strconv.Itoa(seq)), "claimedBy": num(id)}, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{ConditionCheck: &types.ConditionCheck{TableName: table, Key: key(sinkPK, "ENV"), ConditionExpression: aws.String("attribute_exists(pk)")}},
		}})
		return err
	}
	names := 0
	cases := []struct {
		name   string
		method string
		path   string
		body   func() string
		raw    []func() error
	}{
		{"GetCapture", "GET", pathf("/api/captures/%d", c.ID), nil, []func() error{func() error { return getItem(capKey) }, func() error { return getItem(memberKey) }}},
		{"GetMetrics", "GET", pathf("/api/captures/%d/metrics", c.ID), nil, []func() error{func() error { return getItem(capKey) }, func() error { return getItem(memberKey) }}},
		{"ListEnvCaptures", "GET", pathf("/api/captures?envId=%d", env.ID), nil, []func() error{access, queryEnv}},
		{"GetEnvironment", "GET", pathf("/api/environments/%d", env.ID), nil, []func() error{access}},
		{"CreateCapture", "POST", "/api/captures", func() string {
			names++
			return pathf(`{"name":"bench %d","envId":%d}`, names, sink.ID)
		}, []func() error{access, counter, txPut}},
	}
	serve := func(b *testing.B, method, path string, body func() string) {
		r := strings.NewReader("")
		if body != nil {
			r = strings.NewReader(body())
		}
		req := httptest.NewRequest(method, path, r)
		req.Header.Set("Authorization", token)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	// DynamoDB Local runs on the JVM: warm its JIT up on every call first, or whichever case
	// runs first pays for it.
	for range 100 {
		for _, tc := range cases {
			serve(b, tc.method, tc.path, tc.body)
			for _, call := range tc.raw {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for _, tc := range cases {
		b.Run(tc.name+"/handler", func(b *testing.B) {
			for range b.N {
				serve(b, tc.method, tc.path, tc.body)
			}
		})
		b.Run(tc.name+"/raw", func(b *testing.B) {
			for range b.N {
				for _, call := range tc.raw {
					if err := call(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
