package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/runtimeapi"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// buildFunctions builds every function's main for this machine, as `make build` does for
// arm64 (same tags, same flags), into dir.
func buildFunctions(t testing.TB, dir string, names ...string) {
	t.Helper()
	args := []string{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", dir + string(os.PathSeparator)}
	for _, n := range names {
		args = append(args, "../../functions/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// The benchmarks below run the bootstraps against the hand-written Runtime API
// (pkg/runtimeapi), not the emulator TestUnderTheEmulator uses: they time a process from its
// start to its first GET /runtime/invocation/next and to its first answer, which only a
// Runtime API of the test's own sees (the emulator starts the function itself, at the first
// invoke, and adds its own start-up and reservation to what it reports).

// BenchmarkColdStart times process start → first response for each function binary on its
// sample event, and for a hello-world aws-lambda-go function built the same way; `ratio` is
// the function's time over hello's. The linux/arm64 bootstrap's size comes from `make build`.
func BenchmarkColdStart(b *testing.B) {
	st := storetest.New(b, nil)
	seedEvents(b, st)
	bin := b.TempDir()
	names := []string{"worker", "scheduler"}
	for _, step := range eventSteps {
		names = append(names, step.function)
	}
	buildFunctions(b, bin, append(names, "../pkg/app/testdata/hello")...)
	env := []string{lambdas.EnvTable + "=" + st.TableName(), lambdas.EnvDynamoDBEndpoint + "=" + storetest.Endpoint(b), lambdas.EnvWorker + "=" + lambdas.Worker, lambdas.EnvKey + "=unused"}
	coldStart := func(b *testing.B, name string, event []byte) time.Duration {
		var total time.Duration
		for range b.N {
			rt, err := runtimeapi.Start() // one per process, as in runFunction
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(bin, name))
			cmd.Env = rt.Env(env...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			done := make(chan error, 1)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			go func() { _, err := rt.Invoke(ctx, event); done <- err }()
			err = <-done
			total += time.Since(start)
			cancel()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			rt.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		return total / time.Duration(b.N)
	}
	var hello time.Duration
	b.Run("hello", func(b *testing.B) {
		hello = coldStart(b, "hello", []byte(`{}`))
		b.ReportMetric(float64(hello.Microseconds())/1000, "ms")
	})
	// Reads only, so every run sees the same data.
	for _, name := range []string{"get-capture", "list-captures", "get-capture-metrics", "environments", "scheduler"} {
		event, err := os.ReadFile("../../events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			d := coldStart(b, name, event)
			b.ReportMetric(float64(d.Microseconds())/1000, "ms")
			b.ReportMetric(float64(d)/float64(hello), "ratio")
			if info, err := os.Stat("../../build/" + name + "/bootstrap"); err == nil {
				b.ReportMetric(float64(info.Size())/1e6, "arm64-MB")
			}
		})
	}
}

// BenchmarkInit times each API function's init as Lambda counts it (process start → its first
// GET /runtime/invocation/next), and hello's, in 3 rounds of 20 starts each, the functions
// interleaved within a round so all see the same machine; it reports the median and its ratio
// to hello's. It also times each function's first invocation against a second one in the same
// process, on the same DynamoDB Local: what a cold start adds to the request itself.
func BenchmarkInit(b *testing.B) {
	st := storetest.New(b, nil)
	seedEvents(b, st)
	bin := b.TempDir()
	var names []string
	for _, step := range eventSteps {
		names = append(names, step.function)
	}
	buildFunctions(b, bin, append(slices.Clone(names), "../pkg/app/testdata/hello")...)
	env := []string{lambdas.EnvTable + "=" + st.TableName(), lambdas.EnvDynamoDBEndpoint + "=" + storetest.Endpoint(b), lambdas.EnvWorker + "=" + lambdas.Worker, lambdas.EnvKey + "=unused"}
	// start runs one process to its first invocation's answer and a second one's.
	start := func(name string, event []byte) (init, first, warm time.Duration) {
		rt, err := runtimeapi.Start()
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close()
		cmd := exec.Command(filepath.Join(bin, name))
		cmd.Env = rt.Env(env...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		began := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		select {
		case ready := <-rt.Ready():
			init = ready.Sub(began)
		case <-ctx.Done():
			b.Fatalf("%s never asked for an invocation", name)
		}
		for i, d := range []*time.Duration{&first, &warm} {
			t0 := time.Now()
			res, err := rt.Invoke(ctx, event)
			*d = time.Since(t0)
			if err != nil || (res.Error != nil && name != "hello") {
				b.Fatalf("%s, invocation %d: %v %s", name, i+1, err, res.Error)
			}
		}
		return init, first, warm
	}
	events := map[string][]byte{"hello": []byte(`{}`)}
	// Init is measured for every API function; first against warm only for those whose event
	// answers the same the second time (a delete, a stop or a create does not).
	repeatable := []string{"get-capture", "list-captures", "get-capture-metrics", "get-capture-workload", "get-capture-digest", "environments", "edit-capture"}
	for _, name := range names {
		event, err := os.ReadFile("../../events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		events[name] = event
	}
	for b.Loop() {
		inits := map[string][]time.Duration{}
		extra := map[string][]time.Duration{}
		for range 3 {
			for range 20 {
				for _, name := range append([]string{"hello"}, names...) {
					init, first, warm := start(name, events[name])
					inits[name] = append(inits[name], init)
					extra[name] = append(extra[name], first-warm)
				}
			}
		}
		median := func(d []time.Duration) time.Duration {
			slices.Sort(d)
			return d[len(d)/2]
		}
		hello := median(inits["hello"])
		b.ReportMetric(float64(hello.Microseconds())/1000, "hello-init-ms")
		for _, name := range names {
			m := median(inits[name])
			b.ReportMetric(float64(m.Microseconds())/1000, name+"-init-ms")
			b.ReportMetric(float64(m)/float64(hello), name+"-init-ratio")
			if slices.Contains(repeatable, name) {
				b.ReportMetric(float64(median(extra[name]).Microseconds())/1000, name+"-first-extra-ms")
			}
		}
	}
}
