// Package blobtest serves an in-process S3-compatible API for tests (gofakes3, which speaks
// S3's REST protocol), so the S3 code runs without AWS.
package blobtest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mycrt/captures/pkg/blob/s3blob"
)

// Config is the AWS configuration the fake accepts.
var Config = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}

// Server is a fake S3.
type Server struct {
	URL string
	// Latency is added before each answer, as S3's first-byte latency would be.
	Latency     time.Duration
	mu          sync.Mutex
	requests    []*http.Request
	inFlight    int
	maxInFlight int
}

// S3 starts a fake S3 holding the empty buckets, stopped when t ends.
func S3(t testing.TB, buckets ...string) *Server {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{}
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(r.Context()))
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		latency := s.Latency
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		time.Sleep(latency)
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Bucket is a client of bucket on s.
func (s *Server) Bucket(bucket string) s3blob.Bucket { return s3blob.New(Config, s.URL, bucket) }

// MaxInFlight is the most requests s was answering at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Count is how many requests s took that match.
func (s *Server) Count(match func(*http.Request) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if match(r) {
			n++
		}
	}
	return n
}
