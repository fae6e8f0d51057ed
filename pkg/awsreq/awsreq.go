// Package awsreq sends signed requests to AWS service APIs: the SDK's configuration,
// credentials and Signature Version 4 signer, and the few calls each function makes spelled out
// on the wire.
//
// It exists for size and start-up time. An SDK service client links its whole service model
// (every operation's serializers and schema tables, built at package init) however few calls
// a program makes: 0.5 to 1.4 MB of binary and up to a millisecond of cold start each for
// Lambda, S3, RDS, KMS and CloudWatch. The functions of this service make eleven calls in all,
// each a fixed request shape, so the clients that make them (lambdainvoke, s3blob, awsrds,
// secret.KMS, rdsmetrics) build them here instead. DynamoDB keeps the SDK's client: guregu/dynamo
// is built on it, and every function uses it.
//
// What a Client does for each request: it resolves the endpoint (the region's, or the caller's
// override), signs with the configuration's credentials, retries throttling, 5xx answers and
// broken connections with capped exponential back-off, and turns an error answer into an
// *Error carrying AWS's code, which satisfies smithy.APIError as the SDK's errors do, so
// awserr and errors.As treat both alike.
package awsreq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// Client calls one AWS service.
type Client struct {
	Config aws.Config
	// Service is the signing name: lambda, s3, rds, kms, monitoring.
	Service string
	// Endpoint is the base URL requests go to: the service's regional endpoint (see
	// RegionalEndpoint) or a stand-in's.
	Endpoint string
	// Errors decodes an error answer's code and message when its body is not JSON or XML (for
	// CloudWatch's CBOR); nil uses only the generic decoders.
	Errors func(body []byte) (code, message string)
	// MaxAttempts is how many times a retryable failure is tried: 3 when zero.
	MaxAttempts int
}

// New calls service (its signing name, which is also its endpoint's first label: lambda, kms,
// rds, monitoring) with cfg's credentials, at endpoint, or the service's regional endpoint in
// cfg's region when endpoint is empty.
func New(cfg aws.Config, service, endpoint string) Client {
	if endpoint == "" {
		endpoint = RegionalEndpoint(service, cfg.Region)
	}
	return Client{Config: cfg, Service: service, Endpoint: endpoint}
}

// RegionalEndpoint is https://<host>.<region>.amazonaws.com (.com.cn in the China regions).
func RegionalEndpoint(host, region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + host + "." + region + "." + suffix
}

// Request is one call.
type Request struct {
	Method string
	Path   string // from the endpoint's root, unescaped; "" is "/"
	Query  url.Values
	Header http.Header
	Body   []byte
	// Stream, when set, is the body instead of Body: sent as S3's UNSIGNED-PAYLOAD (over TLS)
	// so that it need not be read twice or held in memory, and rewound for each attempt.
	Stream io.ReadSeeker
}

// Error is an error answer from AWS.
type Error struct {
	Service    string
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %d %s: %s (request id %s)", e.Service, e.StatusCode, e.Code, e.Message, e.RequestID)
}

// ErrorCode is AWS's error code (smithy.APIError).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is AWS's message, which may name ARNs and accounts (smithy.APIError).
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is (smithy.APIError), by status code.
func (e *Error) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// Do sends req and returns the answer's body; an answer with a status of 300 or more is an
// *Error.
func (c *Client) Do(ctx context.Context, req Request) (http.Header, []byte, error) {
	resp, err := c.Send(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read the answer: %w", c.Service, err)
	}
	return resp.Header, body, nil
}

// Send sends req and returns the answer with its body unread, for streaming; the caller
// closes it. An answer with a status of 300 or more is an *Error.
func (c *Client) Send(ctx context.Context, req Request) (*http.Response, error) {
	attempts := c.MaxAttempts
	if attempts == 0 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.try(ctx, req)
		if err == nil || attempt == attempts || !retryable(ctx, err) {
			return resp, err
		}
		// Full jitter over an exponential ceiling: 100 ms, 200 ms, ... capped at 5 s.
		ceiling := min(100*time.Millisecond<<(attempt-1), 5*time.Second)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(rand.N(ceiling) + time.Millisecond):
		}
	}
}

func (c *Client) try(ctx context.Context, req Request) (*http.Response, error) {
	r, err := c.request(ctx, req)
	if err != nil {
		return nil, err
	}
	var hash string
	if req.Stream != nil {
		hash = "UNSIGNED-PAYLOAD"
	} else {
		sum := sha256.Sum256(req.Body)
		hash = hex.EncodeToString(sum[:])
	}
	if c.Service == "s3" {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := c.sign(ctx, r, hash); err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Service, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, c.decodeError(resp, body)
}

// request builds the unsigned HTTP request.
func (c *Client) request(ctx context.Context, req Request) (*http.Request, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: endpoint %q is not a URL", c.Service, c.Endpoint)
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = req.Query.Encode()
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Service, err)
	}
	for k, vs := range req.Header {
		r.Header[k] = vs
	}
	r.ContentLength = int64(len(req.Body))
	if req.Stream != nil {
		size, err := req.Stream.Seek(0, io.SeekEnd)
		if err == nil {
			_, err = req.Stream.Seek(0, io.SeekStart)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: rewind the body: %w", c.Service, err)
		}
		// NopCloser: the transport closes the body it is given, and a retry sends it again.
		r.Body, r.ContentLength = io.NopCloser(req.Stream), size
		r.GetBody = nil
	}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// signer is S3's (no second escaping of paths, as S3 asks) or every other service's.
func (c *Client) signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = c.Service == "s3" })
}

func (c *Client) sign(ctx context.Context, r *http.Request, payloadHash string) error {
	creds, err := c.credentials(ctx)
	if err != nil {
		return err
	}
	return c.signer().SignHTTP(ctx, creds, r, payloadHash, c.Service, c.Config.Region, time.Now().UTC())
}

func (c *Client) credentials(ctx context.Context) (aws.Credentials, error) {
	if c.Config.Credentials == nil {
		return aws.Credentials{}, fmt.Errorf("%s: no credentials", c.Service)
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%s: credentials: %w", c.Service, err)
	}
	return creds, nil
}

// Presign returns a URL for req (which must have no body) that works without credentials for
// ttl: S3's presigned GET.
func (c *Client) Presign(ctx context.Context, req Request, ttl time.Duration) (string, error) {
	if req.Query == nil {
		req.Query = url.Values{}
	}
	req.Query.Set("X-Amz-Expires", fmt.Sprint(int(ttl.Seconds())))
	r, err := c.request(ctx, req)
	if err != nil {
		return "", err
	}
	creds, err := c.credentials(ctx)
	if err != nil {
		return "", err
	}
	link, _, err := c.signer().PresignHTTP(ctx, creds, r, "UNSIGNED-PAYLOAD", c.Service, c.Config.Region, time.Now().UTC())
	if err != nil {
		return "", fmt.Errorf("%s: presign: %w", c.Service, err)
	}
	return link, nil
}

// defaultHTTP is shared by every client of a process, so they share connections; it keeps
// up to 32 idle connections a host (Go's default keeps 2), so that S3 reads made several at a
// time (s3blob's Concat) reuse theirs rather than shake hands again each time.
var defaultHTTP = &http.Client{Timeout: 60 * time.Second, Transport: transport()}

func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}

func (c *Client) httpClient() aws.HTTPClient {
	if c.Config.HTTPClient != nil {
		return c.Config.HTTPClient
	}
	return defaultHTTP
}

// throttled are the error codes AWS services use to ask a caller to slow down.
var throttled = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"PriorRequestNotComplete": true, "LimitExceededException": true,
}

// retryable: a throttling code, a 5xx answer, or a connection that broke (not the caller's
// own cancellation or deadline).
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return throttled[e.Code] || e.StatusCode == 429 || e.StatusCode >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
