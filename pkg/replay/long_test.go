package replay_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/replay"
)

// longCapture is two minutes of sysbench at threads threads and rate transactions a second,
// captured, with the source's starting state.
func longCapture(tb testing.TB, threads, rate string) (*fixture, capture.Capture, []byte) {
	f := newFixture(tb)
	sysbench(tb, f.src, "prepare", "--threads=4")
	start := f.dump(tb)
	c := f.record(tb, func() {
		sysbench(tb, f.src, "run", "--threads="+threads, "--rate="+rate, "--time=120", "--db-ps-mode=auto")
	})
	return f, c, start
}

// invocations replays c at speed 1 onto a copy of start, in invocations of limit (none when
// zero), and returns what it did, the target's connections (its general log) and the
// hand-offs.
func invocations(tb testing.TB, f *fixture, c capture.Capture, start []byte, limit time.Duration) (replayed, [][]string, int) {
	target, env := f.target(tb, start)
	log := logToFile(tb, target)
	local := &replay.Local{}
	out := f.replay(tb, c, env, options{limit: limit, local: local})
	if out.err != nil {
		tb.Fatal(out.err)
	}
	return out, connectionsOf(tb, log), len(local.Continued())
}

// TestTenSecondInvocations is the hand-off at length: a 2-minute capture of 4 sysbench threads
// replayed at speed 1 with 10 s invocations (REPLAY_INVOCATION_LIMIT=10s: a dozen hand-offs)
// and without, at once, each onto its own copy of the source's starting state. Each target's
// own log shows every session's statements in captured order, no connection ending inside a
// transaction its session goes on with; the two replays did the same statements of the same
// sessions in the same order; no transaction was split. (Lateness is measured, not asserted
// here: make bench's BenchmarkReplayTenSecondInvocations.)
func TestTenSecondInvocations(t *testing.T) {
	t.Parallel()
	f, c, start := longCapture(t, "4", "20")
	sessions, statements := sysbenchSessions(t, f, c, 4, 10_000)
	limits := []time.Duration{0, 10 * time.Second}
	outs := make([]replayed, len(limits))
	t.Run("replays", func(t *testing.T) {
		for i, limit := range limits {
			t.Run("limit="+limit.String(), func(t *testing.T) {
				t.Parallel()
				out, conns, handoffs := invocations(t, f, c, start, limit)
				if limit > 0 && handoffs < 10 {
					t.Errorf("%d hand-offs in a 2-minute replay of 10 s invocations", handoffs)
				}
				split := 0
				for _, r := range out.results {
					split += r.Split
				}
				if split != 0 {
					t.Errorf("%d transactions split at a deadline", split)
				}
				noErrors(t, out.outcomes)
				sameSessions(t, sessions, conns)
				if len(out.outcomes) != statements {
					t.Errorf("%d outcomes of %d statements", len(out.outcomes), statements)
				}
				q, own := latenessOf(out.outcomes, 0.5, 0.99, 1), latenessOf(ownLateness(out.outcomes), 0.5, 0.99, 1)
				t.Logf("%d hand-offs; lateness p50 %s, p99 %s, max %s; the replayer's own p50 %s, p99 %s, max %s",
					handoffs, q[0], q[1], q[2], own[0], own[1], own[2])
				outs[i] = out
			})
		}
	})
	if t.Failed() {
		return
	}
	key := func(r outcome.Record) [2]uint32 { return [2]uint32{r.Session, r.Seq} }
	a, b := outs[0].outcomes, outs[1].outcomes
	if !slices.EqualFunc(a, b, func(x, y outcome.Record) bool { return key(x) == key(y) && x.Digest == y.Digest }) {
		t.Errorf("the replay in 10 s invocations did other statements, or in another order, than the one without: %d and %d outcomes", len(b), len(a))
	}
}

// BenchmarkReplayTenSecondInvocations measures lateness over a 2-minute capture of 8 sysbench
// threads at 100 transactions a second, replayed at speed 1 without a limit and then in 10 s
// invocations: the schedule's lateness and the replayer's own (ownLateness), both at p50, p99
// and max, and the hand-offs and split transactions.
func BenchmarkReplayTenSecondInvocations(b *testing.B) {
	f, c, start := longCapture(b, "8", "100")
	for _, limit := range []time.Duration{0, 10 * time.Second} {
		b.Run("limit="+limit.String(), func(b *testing.B) {
			for range b.N {
				out, _, handoffs := invocations(b, f, c, start, limit)
				reportLateness(b, out)
				split := 0
				for _, r := range out.results {
					split += r.Split
				}
				b.ReportMetric(float64(handoffs), "hand-offs")
				b.ReportMetric(float64(split), "split-txns")
			}
		})
	}
}
