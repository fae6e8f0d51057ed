// Package runtimeapi is a local AWS Lambda Runtime API: enough of it for a function binary,
// started with AWS_LAMBDA_RUNTIME_API pointing here, to take invocations and answer them exactly
// as it would in Lambda. The init and cold start benchmarks use it to time a bootstrap from its
// process start to its first request for an invocation, which AWS's Runtime Interface
// Emulator (what the tests run the bootstraps under) does not show. It also accepts
// asynchronous Invoke calls of the Lambda API, so a function that hands work to another
// (AWS_ENDPOINT_URL_LAMBDA pointing here) can be observed, under either.
package runtimeapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Result is a function's answer to one invocation.
type Result struct {
	Payload []byte
	Error   []byte // the error document, if the function reported an error
}

type invocation struct {
	id      string
	payload []byte
	done    chan Result
}

// Server serves the Runtime API on a loopback port.
type Server struct {
	srv     *http.Server
	addr    string
	queue   chan *invocation
	mu      sync.Mutex
	pending map[string]*invocation
	seq     int
	invoked []Invoked
	ready   chan time.Time // when the function first asked for an invocation
	asked   sync.Once
}

// Invoked is an asynchronous Lambda Invoke a function made.
type Invoked struct {
	Function string
	Payload  []byte
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{addr: ln.Addr().String(), queue: make(chan *invocation, 16), pending: map[string]*invocation{},
		ready: make(chan time.Time, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.answer(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.answer(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.invoke)
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Ready delivers when the function first asked for an invocation: the end of its init, as
// Lambda counts it.
func (s *Server) Ready() <-chan time.Time { return s.ready }

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.asked.Do(func() { s.ready <- time.Now() })
	select {
	case inv := <-s.queue:
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:local")
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (s *Server) answer(isError bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		inv := s.pending[r.PathValue("id")]
		delete(s.pending, r.PathValue("id"))
		s.mu.Unlock()
		if inv == nil {
			http.Error(w, "unknown invocation", http.StatusBadRequest)
			return
		}
		res := Result{Payload: body}
		if isError {
			res = Result{Error: body}
		}
		inv.done <- res
		w.WriteHeader(http.StatusAccepted)
	}
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.invoked = append(s.invoked, Invoked{Function: r.PathValue("name"), Payload: body})
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// Invoked returns the asynchronous invokes made so far.
func (s *Server) Invoked() []Invoked {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invoked(nil), s.invoked...)
}

// Invoke queues an event and waits for the function's answer.
func (s *Server) Invoke(ctx context.Context, payload []byte) (Result, error) {
	s.mu.Lock()
	s.seq++
	inv := &invocation{id: fmt.Sprintf("req-%d", s.seq), payload: payload, done: make(chan Result, 1)}
	s.pending[inv.id] = inv
	s.mu.Unlock()
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case res := <-inv.done:
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invocation %s: %w", inv.id, ctx.Err())
	}
}

// Env returns the environment a function process needs to use this server, on top of extra.
func (s *Server) Env(extra ...string) []string {
	return append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + s.addr,
		"AWS_ENDPOINT_URL_LAMBDA=http://" + s.addr,
		"AWS_LAMBDA_FUNCTION_NAME=local",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"HOME=/tmp",
	}, extra...)
}
