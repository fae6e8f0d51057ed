// Package cwtest serves CloudWatch's GetMetricData for tests, in its real wire protocol, so the
// client runs against recorded answers without AWS; a test holds it to the SDK's own client.
package cwtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/encoding/cbor"
)

// Result is one recorded MetricDataResult, times as Unix seconds.
type Result struct {
	ID         string    `json:"Id"`
	Label      string    `json:"Label"`
	StatusCode string    `json:"StatusCode"`
	Timestamps []float64 `json:"Timestamps"`
	Values     []float64 `json:"Values"`
}

// Page is one recorded GetMetricData answer.
type Page struct {
	NextToken         string   `json:"NextToken"`
	MetricDataResults []Result `json:"MetricDataResults"`
}

// Server answers GetMetricData in CloudWatch's own wire protocol (Smithy RPC v2 CBOR) with
// recorded pages, and keeps the requests it got, decoded.
type Server struct {
	Pages    []Page
	Fail     int    // status to fail with; 0 answers
	FailCode string // the error's __type
	mu       sync.Mutex
	requests []cbor.Map
	srv      *httptest.Server
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/service/GraniteServiceVersion20100801/operation/GetMetricData" || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		http.Error(w, "unexpected request "+r.URL.Path, 400)
		return
	}
	body, _ := io.ReadAll(r.Body)
	v, err := cbor.Decode(body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	req := v.(cbor.Map)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if f.Fail != 0 {
		w.WriteHeader(f.Fail)
		w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(f.FailCode), "message": cbor.String("User: arn:aws:sts::123456789012:assumed-role/MycrtCaptures-Worker/worker is not authorized to perform: cloudwatch:GetMetricData")}))
		return
	}
	page := f.Pages[0]
	if tok, ok := req["NextToken"].(cbor.String); ok {
		if string(tok) != "page-2" {
			http.Error(w, "bad token", 400)
			return
		}
		page = f.Pages[1]
	}
	results := cbor.List{}
	for _, res := range page.MetricDataResults {
		ts, vals := cbor.List{}, cbor.List{}
		for _, t := range res.Timestamps {
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(t)})
		}
		for _, v := range res.Values {
			vals = append(vals, cbor.Float64(v))
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(res.ID), "Label": cbor.String(res.Label), "StatusCode": cbor.String(res.StatusCode),
			"Timestamps": ts, "Values": vals,
		})
	}
	out := cbor.Map{"MetricDataResults": results}
	if page.NextToken != "" {
		out["NextToken"] = cbor.String(page.NextToken)
	}
	w.Write(cbor.Encode(out))
}

// Requests are the requests received so far.
func (f *Server) Requests() []cbor.Map {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cbor.Map(nil), f.requests...)
}

// Close stops answering: CloudWatch becomes unreachable.
func (f *Server) Close() { f.srv.Close() }

// Config is the AWS configuration the fake accepts.
var Config = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}

// URL is where the fake answers.
func (f *Server) URL() string { return f.srv.URL }

// Start serves the pages recorded in file (JSON: {"pages": [...]}) until t ends.
func Start(t testing.TB, file string) *Server {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Pages []Page }
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	f := &Server{Pages: rec.Pages}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}
