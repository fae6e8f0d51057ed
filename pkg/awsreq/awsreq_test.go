package awsreq_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
)

var cfg = aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN")}

// verify recomputes r's Signature Version 4 as AWS does: from the headers it names as signed,
// the payload hash it declares (S3) or its body's, and the credentials of cfg; nil if it
// matches the one r carries.
func verify(t *testing.T, r *http.Request, body []byte, service string) string {
	t.Helper()
	auth := r.Header.Get("Authorization")
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return "no signature"
	}
	signed, _, _ = strings.Cut(signed, ",")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "no X-Amz-Date"
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	again, _ := http.NewRequest(r.Method, u.String(), nil)
	again.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds, _ := cfg.Credentials.Retrieve(context.Background())
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if err := signer.SignHTTP(context.Background(), creds, again, hash, service, cfg.Region, at); err != nil {
		return err.Error()
	}
	if again.Header.Get("Authorization") != auth {
		return "signature does not match:\n " + auth + "\n " + again.Header.Get("Authorization")
	}
	if !strings.Contains(auth, "/eu-west-1/"+service+"/aws4_request") || r.Header.Get("X-Amz-Security-Token") != "TOKEN" {
		return "wrong scope or no session token: " + auth
	}
	return ""
}

// TestSigned: every shape of request the clients send verifies as AWS would verify it.
func TestSigned(t *testing.T) {
	tests := []struct {
		name, service string
		req           awsreq.Request
	}{
		{"JSON 1.1", "kms", awsreq.Request{Header: http.Header{"X-Amz-Target": {"TrentService.Encrypt"}}, Body: []byte(`{"KeyId":"k"}`)}},
		{"query", "rds", awsreq.Request{Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("Action=DescribeDBInstances&Version=2014-10-31")}},
		{"REST path", "lambda", awsreq.Request{Path: "/2015-03-31/functions/mycrt-worker/invocations", Body: []byte(`{}`)}},
		{"S3 key and query", "s3", awsreq.Request{Method: "GET", Path: "/bucket/env-1/capture-2/fragment 000001.jsonl.gz", Query: url.Values{"list-type": {"2"}, "prefix": {"env-1/"}}}},
		{"S3 stream", "s3", awsreq.Request{Method: "PUT", Path: "/bucket/k", Stream: strings.NewReader("streamed body")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var problem string
			var got []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				problem = verify(t, r, got, tt.service)
			}))
			defer srv.Close()
			c := awsreq.Client{Config: cfg, Service: tt.service, Endpoint: srv.URL}
			if _, _, err := c.Do(context.Background(), tt.req); err != nil {
				t.Fatal(err)
			}
			if problem != "" {
				t.Error(problem)
			}
			want := string(tt.req.Body)
			if tt.req.Stream != nil {
				want = "streamed body"
			}
			if string(got) != want {
				t.Errorf("body %q, want %q", got, want)
			}
		})
	}
}

// TestErrors: AWS's error shapes become *Error with AWS's code; throttling and 5xx are tried
// again, a refusal is not, and none of AWS's text reaches awserr's message.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		code      string
		attempts  int32
		retryable bool
	}{
		{"JSON __type", 400, nil, `{"__type":"com.amazonaws.kms#AccessDeniedException","message":"arn:aws:iam::123456789012:role/x"}`, "AccessDeniedException", 1, false},
		{"REST-JSON header", 403, http.Header{"X-Amzn-Errortype": {"AccessDeniedException:http://internal.amazon.com/"}}, `{"Message":"arn:aws:iam::123456789012:role/x"}`, "AccessDeniedException", 1, false},
		{"query XML", 400, nil, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`, "Throttling", 3, true},
		{"S3 XML", 503, nil, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`, "SlowDown", 3, true},
		{"no body", 500, nil, ``, "InternalServerError", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := awsreq.Client{Config: cfg, Service: "kms", Endpoint: srv.URL}
			_, _, err := c.Do(context.Background(), awsreq.Request{Body: []byte("{}")})
			var e *awsreq.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.StatusCode != tt.status {
				t.Fatalf("%v, want code %s", err, tt.code)
			}
			if n.Load() != tt.attempts {
				t.Errorf("%d attempts, want %d", n.Load(), tt.attempts)
			}
			if msg := awserr.Wrap("seal", err).Error(); msg != "seal: AWS answered "+tt.code {
				t.Errorf("awserr shows %q", msg)
			}
		})
	}
}

// TestRecovers: a request that fails once with a 503 succeeds on its second attempt.
func TestRecovers(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	c := awsreq.Client{Config: cfg, Service: "s3", Endpoint: srv.URL}
	_, body, err := c.Do(context.Background(), awsreq.Request{Method: "PUT", Path: "/b/k", Stream: strings.NewReader("again")})
	if err != nil || string(body) != "again" || n.Load() != 2 {
		t.Errorf("%q %v after %d attempts, want the whole body sent again on the second", body, err, n.Load())
	}
}

func TestRegionalEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":  "https://rds.us-east-1.amazonaws.com",
		"cn-north-1": "https://rds.cn-north-1.amazonaws.com.cn",
	} {
		if got := awsreq.RegionalEndpoint("rds", region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}
