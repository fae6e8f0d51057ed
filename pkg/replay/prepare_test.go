package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/workload"
)

// storeWorkload writes events as c's workload file, through a temporary file (a benchmark's
// workload is generated as it is written, never held).
func storeWorkload(t testing.TB, files blob.Dir, c capture.Capture, events iter.Seq[workload.Event]) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "workload-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	gz, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	enc := json.NewEncoder(gz)
	for e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := files.Put(context.Background(), layout.WorkloadKey(c), f); err != nil {
		t.Fatal(err)
	}
}

// readShard reads shard n of replay id whole.
func readShard(t testing.TB, files blob.Dir, id int64, n int) (shardHead, []step) {
	t.Helper()
	f, err := files.Open(context.Background(), layout.ReplayShardKey(id, n))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr, err := newShardReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var steps []step
	for {
		var st step
		err := sr.next(&st)
		if errors.Is(err, io.EOF) {
			return sr.head, steps
		}
		if err != nil {
			t.Fatal(err)
		}
		st.materialize()
		steps = append(steps, st)
	}
}

func TestPrepareSessionsStatementsAndShards(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(ms int, thread uint64, user, command, db, sql string) workload.Event {
		return workload.Event{Time: at(ms), Thread: thread, User: user, Host: "app-host", Command: command, DB: db, SQL: sql}
	}
	events := []workload.Event{
		ev(0, 1, "app", "Connect", "shop", "app@app-host on shop using TCP/IP"),
		ev(1, 1, "app", "Query", "shop", "SELECT 1"),
		ev(2, 2, "batch", "Query", "shop", "SET autocommit = 0"), // connected before the capture
		ev(3, 1, "app", "Prepare", "shop", "INSERT INTO t VALUES (?)"),
		ev(4, 1, "app", "Execute", "shop", "INSERT INTO t VALUES (5)"),
		ev(5, 1, "app", "Close stmt", "shop", ""),
		ev(3, 2, "batch", "Query", "shop", "INSERT INTO t VALUES (6)"), // logged after a later row
		ev(7, 1, "app", "Query", "shop", "BEGIN"),
		ev(8, 1, "app", "Query", "shop", "UPDATE t SET v = v + 1"),
		ev(9, 1, "app", "Query", "archive", "USE archive"),
		ev(10, 1, "app", "Query", "archive", "COMMIT"),
		ev(11, 2, "batch", "Query", "shop", "SELECT * FROM t"),
		ev(12, 1, "app", "Quit", "archive", ""),
		ev(13, 1, "app", "Connect", "", "app@app-host as anonymous using TCP/IP"), // thread 1 again: a new session
		ev(14, 1, "app", "Init DB", "shop", "shop"),
		ev(15, 1, "app", "Query", "shop", "DELETE FROM t"),
		ev(16, 2, "batch", "Query", "shop", "COMMIT"),
		ev(17, 1, "app", "Quit", "shop", ""),
	}
	for _, tc := range []struct {
		name     string
		filters  capture.Filters
		sessions []uint32
		want     string // each step: session, seq, kind, sql, and its flags in txn / last
	}{
		{"everything", capture.Filters{}, []uint32{0, 1, 2}, `0 - connect shop
0 0 SELECT 1
1 0 SET autocommit = 0
1 1 INSERT INTO t VALUES (6) txn ends+13ms
0 1 INSERT INTO t VALUES (5)
0 2 BEGIN txn ends+3ms
0 3 UPDATE t SET v = v + 1 txn
0 4 USE archive txn
0 5 COMMIT
1 2 SELECT * FROM t txn
0 - quit archive last
2 - connect 
2 - init db shop
2 0 DELETE FROM t
1 3 COMMIT last
2 - quit shop last
`},
		{"without batch", capture.Filters{Users: capture.NameFilter{Exclude: []string{"batch"}}}, []uint32{0, 2}, `0 - connect shop
0 0 SELECT 1
0 1 INSERT INTO t VALUES (5)
0 2 BEGIN txn ends+3ms
0 3 UPDATE t SET v = v + 1 txn
0 4 USE archive txn
0 5 COMMIT
0 - quit archive last
2 - connect 
2 - init db shop
2 0 DELETE FROM t
2 - quit shop last
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := blob.Dir{Root: t.TempDir()}
			c := capture.Capture{ID: 7, EnvID: 3}
			storeWorkload(t, files, c, slices.Values(events))
			plan, err := Prepare(context.Background(), files, c, capture.Replay{ID: 9, Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			if plan.Shards != 1 || plan.Sessions != len(tc.sessions) || plan.Captured != 11 || !plan.First.Equal(at(1)) {
				t.Errorf("plan %+v: want 1 shard, %d sessions, 11 statements captured, first at %s", plan, len(tc.sessions), at(1))
			}
			head, steps := readShard(t, files, 9, 0)
			var got bytes.Buffer
			var statements int64
			last := int64(-1)
			for _, st := range steps {
				ordinal := head.Sessions[st.session].Ordinal
				switch st.kind {
				case kindStatement:
					statements++
					fmt.Fprintf(&got, "%d %d %s", ordinal, st.seq, st.sql)
					id, _ := outcome.ParseDigest(digest.ID(digest.Fingerprint(st.sql)))
					if st.digest != id {
						t.Errorf("%q: digest %x, want %x", st.sql, st.digest, id)
					}
				case kindConnect:
					fmt.Fprintf(&got, "%d - connect %s", ordinal, head.DBs[st.db])
				case kindInitDB:
					fmt.Fprintf(&got, "%d - init db %s", ordinal, head.DBs[st.db])
				case kindQuit:
					fmt.Fprintf(&got, "%d - quit %s", ordinal, head.DBs[st.db])
				}
				if st.flags&flagInTxn != 0 {
					got.WriteString(" txn")
				}
				if st.flags&flagTxnStart != 0 {
					fmt.Fprintf(&got, " ends+%dms", (st.txnEnd-st.offset)/1000)
				}
				if st.flags&flagLast != 0 {
					got.WriteString(" last")
				}
				got.WriteString("\n")
				if st.offset < last {
					t.Errorf("step at %d µs after one at %d µs", st.offset, last)
				}
				last = st.offset
			}
			if got.String() != tc.want {
				t.Errorf("shard:\n%s\nwant:\n%s", got.String(), tc.want)
			}
			if statements != plan.Statements {
				t.Errorf("the shard holds %d statements, the plan says %d", statements, plan.Statements)
			}
			for i, s := range head.Sessions {
				if s.Ordinal != tc.sessions[i] {
					t.Errorf("shard session %d is capture session %d, want %d", i, s.Ordinal, tc.sessions[i])
				}
			}
		})
	}
}

// TestPrepareShardsAreBalancedAndBounded: 1,201 sessions, one of them busy, make three shards
// of at most MaxShardSessions sessions, their statements as even as whole sessions allow.
func TestPrepareShardsAreBalancedAndBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var events []workload.Event
	for th := range uint64(1201) {
		n := 2
		if th == 0 {
			n = 400
		}
		for i := range n {
			events = append(events, workload.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Thread: th + 1, User: "app",
				Command: "Query", SQL: fmt.Sprintf("SELECT %d", i)})
		}
	}
	files := blob.Dir{Root: t.TempDir()}
	c := capture.Capture{ID: 1, EnvID: 1}
	storeWorkload(t, files, c, slices.Values(events))
	plan, err := Prepare(context.Background(), files, c, capture.Replay{ID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Shards != 3 || plan.Sessions != 1201 || plan.Statements != 400+2*1200 {
		t.Fatalf("plan %+v: want 3 shards of 1201 sessions, 2800 statements", plan)
	}
	seen := map[uint32]bool{}
	var loads []int
	for n := range plan.Shards {
		head, steps := readShard(t, files, 2, n)
		if len(head.Sessions) > MaxShardSessions {
			t.Errorf("shard %d holds %d sessions", n, len(head.Sessions))
		}
		for _, s := range head.Sessions {
			if seen[s.Ordinal] {
				t.Errorf("session %d in two shards", s.Ordinal)
			}
			seen[s.Ordinal] = true
		}
		loads = append(loads, len(steps))
	}
	lo, hi := min(loads[0], loads[1], loads[2]), max(loads[0], loads[1], loads[2])
	if hi-lo > 400 {
		t.Errorf("shards of %v statements: not balanced", loads)
	}
}

// TestPrepareMatchesInMemory: Prepare, spilling to its temporary file, stores the very bytes the
// in-memory Prepare it replaced stored (refPrepare), for a workload with what makes the merge and
// the transactions' ends hard: threads reused and reconnecting, rows logged out of order and
// before the first statement, transactions over block boundaries and open at the end, long
// statements, several databases, filters; in shards of 7 sessions and blocks of 64 bytes.
func TestPrepareMatchesInMemory(t *testing.T) {
	defer SetShardSessions(7)()
	events := trickyWorkload(20_000)
	for _, tc := range []struct {
		name    string
		block   int
		filters capture.Filters
	}{
		{"everything", 64, capture.Filters{}},
		{"everything, blocks of 4 KiB", 4 << 10, capture.Filters{}},
		{"without batch", 64, capture.Filters{Users: capture.NameFilter{Exclude: []string{"batch"}}}},
		{"only shop", 64, capture.Filters{Databases: capture.NameFilter{Include: []string{"shop"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(n int) { spillBlock = n }(spillBlock)
			spillBlock = tc.block
			files := blob.Dir{Root: t.TempDir()}
			c := capture.Capture{ID: 1, EnvID: 1}
			storeWorkload(t, files, c, slices.Values(events))
			want, err := refPrepare(context.Background(), files, c, capture.Replay{ID: 1, Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Prepare(context.Background(), files, c, capture.Replay{ID: 2, Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			if want.Shards < 2 || got != want {
				t.Fatalf("plan %+v, want %+v (of at least 2 shards)", got, want)
			}
			keys := []func(int64) string{layout.ReplayPlanKey}
			for n := range want.Shards {
				keys = append(keys, func(id int64) string { return layout.ReplayShardKey(id, n) })
			}
			for _, key := range keys {
				if a, b := readAll(t, files, key(1)), readAll(t, files, key(2)); !bytes.Equal(a, b) {
					t.Errorf("%s: %d bytes, the in-memory Prepare's %d (or other bytes)", key(2), len(b), len(a))
				}
			}
		})
	}
}

// trickyWorkload is n rows of 40 threads, at random.
func trickyWorkload(n int) []workload.Event {
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sqls := []string{"BEGIN", "COMMIT", "ROLLBACK", "SET autocommit = 0", "SET autocommit = 1", "START TRANSACTION",
		"SELECT c FROM t WHERE id = 5", "UPDATE t SET k = k + 1 WHERE id = 7", "CREATE TABLE x (id INT)", "USE archive",
		"SET @a = 1", "INSERT INTO t VALUES (1)"}
	dbs := []string{"", "shop", "archive", "db3"}
	connected := map[uint64]bool{}
	var out []workload.Event
	for i := range n {
		th := uint64(1 + r.IntN(40))
		e := workload.Event{Thread: th, User: []string{"app", "batch"}[th%2], Host: "h", DB: dbs[(int(th)+i/500)%len(dbs)],
			Time: t0.Add(time.Duration(i)*100*time.Microsecond + time.Duration(r.IntN(4000)-3000)*time.Microsecond)}
		if r.IntN(100) == 0 {
			e.Time = e.Time.Add(-time.Second) // far out of order
		}
		switch p := r.IntN(100); {
		case i < 30 || !connected[th] && p < 20 || p < 2:
			e.Command, e.SQL, connected[th] = "Connect", "app@h on shop using TCP/IP", true
		case p < 5:
			e.Command, connected[th] = "Quit", false
		case p < 8:
			e.Command, e.SQL = "Init DB", e.DB
		case p < 10:
			e.Command, e.SQL = []string{"Prepare", "Close stmt", "Ping"}[p-8], "SELECT ?"
		default:
			e.Command, e.SQL = []string{"Query", "Execute"}[p%2], sqls[r.IntN(len(sqls))]
			if r.IntN(200) == 0 {
				e.SQL = "SELECT '" + strings.Repeat("x", 100+r.IntN(10_000)) + "'"
			}
			if i == n/2 {
				e.SQL = "SELECT '" + strings.Repeat("y", 1<<21) + "'" // past the spill file's write buffer
			}
		}
		out = append(out, e)
	}
	return out
}

func readAll(t *testing.T, files blob.Dir, key string) []byte {
	t.Helper()
	f, err := files.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
