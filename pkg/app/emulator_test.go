package app_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/runtimeapi"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// The Runtime Interface Emulator, pinned in go.mod as a tool.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// junk is an event no function can take: each must answer it with an error and go on.
var junk = []byte(`"junk"`)

// TestUnderTheEmulator runs every function's bootstrap under AWS's own Runtime Interface
// Emulator (aws-lambda-rie), as Lambda would run it: built for this machine, and the arm64
// bootstraps `make build` ships, through qemu-aarch64-static where this machine is not arm64.
// Each function, in its own emulator, first answers a junk event with Lambda's error document
// and then, in the same process (initialised once), its events/ sample: the API functions
// with the status, body and headers their handlers give (JSON, the invocation's request
// id), the worker and the scheduler with null; against DynamoDB Local, and a local Lambda
// API where the functions' asynchronous invokes land. An immediate capture created through
// create-capture hands its start to the worker.
func TestUnderTheEmulator(t *testing.T) {
	bin := t.TempDir()
	buildRIE(t, bin)
	rie := filepath.Join(bin, "aws-lambda-rie")

	t.Run("broken bootstrap", func(t *testing.T) {
		// The harness itself: a bootstrap that dies at init is reported, not passed.
		e := startEmulator(t, rie, nil, "/bin/false")
		if _, err := e.invoke(t, []byte(`{}`), "req-broken"); err == nil {
			t.Fatal("a bootstrap that exits at once answered")
		}
	})

	t.Run(runtime.GOARCH, func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		buildFunctions(t, dir, functionNames()...)
		runAll(t, rie, func(name string) []string { return []string{filepath.Join(dir, name)} })
	})
	if runtime.GOARCH == "arm64" {
		return // the native run was arm64's
	}
	t.Run("arm64", func(t *testing.T) {
		qemu, err := exec.LookPath("qemu-aarch64-static")
		if err != nil {
			t.Skip("qemu-aarch64-static is not installed (apt-get install qemu-user-static; .ci/deps installs it): the arm64 bootstraps are not run")
		}
		t.Parallel()
		dir, _ := filepath.Abs(filepath.Join("..", "..", "build")) // the emulator runs in a folder of its own
		if _, err := os.Stat(filepath.Join(dir, lambdas.Worker, "bootstrap")); err != nil {
			// Not built by `make build` (make test builds them first): the same, here.
			dir = t.TempDir()
			buildArm64(t, dir)
		}
		runAll(t, rie, func(name string) []string {
			path := filepath.Join(dir, name, "bootstrap")
			if f, err := elf.Open(path); err != nil || f.Machine != elf.EM_AARCH64 {
				t.Fatalf("%s is not a linux/arm64 bootstrap: %v", path, err)
			} else {
				f.Close()
			}
			return []string{qemu, path}
		})
	})
}

func functionNames() []string {
	var names []string
	for _, f := range lambdas.All {
		names = append(names, f.Name)
	}
	return names
}

// runAll runs each function's junk and sample events, in the order eventSteps needs, each
// function in a fresh emulator started with the command cmd gives for it.
func runAll(t *testing.T, rie string, cmd func(name string) []string) {
	st := storetest.New(t, nil)
	seedEvents(t, st)
	lambdaAPI, err := runtimeapi.Start() // only its Invoke endpoint: where async invokes land
	if err != nil {
		t.Fatal(err)
	}
	defer lambdaAPI.Close()
	env := []string{
		"TABLE_NAME=" + st.TableName(), "DYNAMODB_ENDPOINT=" + storetest.Endpoint(t),
		"WORKER_FUNCTION=worker", "KMS_KEY_ID=unused", "AWS_ENDPOINT_URL_LAMBDA=http://" + lambdaAPI.Addr(),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "HOME=" + t.TempDir(),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	}
	run := func(name string, event []byte, check func(payload []byte, reqID string) error) {
		t.Helper()
		spec, _ := lambdas.Named(name)
		e := startEmulator(t, rie, append(env, "AWS_LAMBDA_FUNCTION_NAME="+name, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(spec.Timeout)), cmd(name)...)
		defer e.stop()
		var failures []string
		got, err := e.invoke(t, junk, "req-junk-"+name)
		var doc struct{ ErrorMessage, ErrorType string }
		if err != nil || json.Unmarshal(got, &doc) != nil || doc.ErrorType == "" || doc.ErrorMessage == "" {
			failures = append(failures, fmt.Sprintf("answered junk with %s (%v), want Lambda's error document", got, err))
		}
		reqID := "req-" + name
		if got, err = e.invoke(t, event, reqID); err != nil {
			failures = append(failures, fmt.Sprintf("after the junk: %v", err))
		} else if err := check(got, reqID); err != nil {
			failures = append(failures, fmt.Sprintf("%v: %s", err, got))
		}
		if n := strings.Count(e.log.String(), "INIT START"); n != 1 {
			failures = append(failures, fmt.Sprintf("initialised %d times for two events, want once: the junk must not end the process", n))
		}
		if failures != nil {
			t.Errorf("%s under aws-lambda-rie:\n%s\nits output:\n%s", name, strings.Join(failures, "\n"), e.log)
		}
	}

	for _, step := range eventSteps {
		event, err := os.ReadFile("../../events/" + step.function + ".json")
		if err != nil {
			t.Fatal(err)
		}
		before := len(lambdaAPI.Invoked())
		run(step.function, event, func(payload []byte, reqID string) error {
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(payload, &resp); err != nil {
				return err
			}
			if resp.StatusCode != step.wantStatus() || !step.check(resp.Body) {
				return fmt.Errorf("status %d, body %s", resp.StatusCode, resp.Body)
			}
			if resp.Headers["Content-Type"] != "application/json" || resp.Headers["X-Request-Id"] != reqID {
				return fmt.Errorf("headers %v, want JSON and X-Request-Id %s", resp.Headers, reqID)
			}
			return nil
		})
		// A scheduled capture (create-capture) or a cancelled one (stop-capture) needs no worker.
		if n := len(lambdaAPI.Invoked()); n != before {
			t.Errorf("%s invoked the worker: %+v", step.function, lambdaAPI.Invoked()[before:])
		}
	}
	for _, fn := range []string{lambdas.Scheduler, lambdas.Worker, lambdas.Replayer} {
		event, err := os.ReadFile("../../events/" + fn + ".json")
		if err != nil {
			t.Fatal(err)
		}
		run(fn, event, func(payload []byte, _ string) error {
			if strings.TrimSpace(string(payload)) != "null" {
				return errors.New("want null")
			}
			return nil
		})
	}

	// An immediate capture hands its start to the worker with an asynchronous invoke.
	ev, _ := os.ReadFile("../../events/create-capture.json")
	var req events.APIGatewayV2HTTPRequest
	_ = json.Unmarshal(ev, &req)
	req.Body = `{"name":"right away","envId":1}`
	ev, _ = json.Marshal(req)
	before := len(lambdaAPI.Invoked())
	run("create-capture", ev, func(payload []byte, _ string) error {
		if !strings.Contains(string(payload), `STARTED`) {
			return errors.New("not STARTED")
		}
		return nil
	})
	inv := lambdaAPI.Invoked()[before:]
	if len(inv) != 1 || inv[0].Function != "worker" || !strings.Contains(string(inv[0].Payload), `"action":"start"`) {
		t.Errorf("worker invokes: %+v", inv)
	}
}

// emulator is one aws-lambda-rie process serving one function.
type emulator struct {
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
}

// startEmulator starts aws-lambda-rie on free loopback ports (its invoke endpoint, and the
// Runtime API it gives the function) with the function's command line, and waits until it
// listens. The function itself starts at the first invoke, as in Lambda.
func startEmulator(t *testing.T, rie string, env []string, function ...string) *emulator {
	t.Helper()
	addr, runtimeAddr := freePort(t), freePort(t)
	cmd := exec.Command(rie, append([]string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, "--log-level", "info"}, function...)...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	// Its own process group, so stopping it stops the function it runs too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e := &emulator{cmd: cmd, addr: addr, log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie never listened on %s:\n%s", addr, e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoke sends event as Lambda's Invoke API does, with the request id the function is to
// see, and returns the function's answer; an error when the emulator reports the function
// failed rather than answered (an error document is an answer).
func (e *emulator) invoke(t *testing.T, event []byte, reqID string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	req.Header.Set("X-Amzn-RequestId", reqID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("the emulator answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// stop ends the emulator and the function it runs (its process group).
func (e *emulator) stop() {
	if e.cmd.Process == nil || e.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	_ = e.cmd.Wait()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildRIE builds the emulator at the version go.mod pins.
func buildRIE(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "aws-lambda-rie"), riePackage).CombinedOutput()
	if err != nil {
		t.Fatalf("build aws-lambda-rie: %v\n%s", err, out)
	}
}

// buildArm64 builds every bootstrap as `make build` does, into dir/<function>/bootstrap.
func buildArm64(t *testing.T, dir string) {
	t.Helper()
	for _, name := range functionNames() {
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w",
			"-o", filepath.Join(dir, name, "bootstrap"), "../../functions/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
}

// syncBuffer is an output buffer the emulator's two streams write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
