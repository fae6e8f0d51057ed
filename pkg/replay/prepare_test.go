package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/workload"
)

// storeWorkload writes events as c's workload file.
func storeWorkload(t testing.TB, files blob.Dir, c capture.Capture, events []workload.Event) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	enc := json.NewEncoder(gz)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	gz.Close()
	if err := files.Put(context.Background(), layout.WorkloadKey(c), bytes.NewReader(buf.Bytes())); err != nil {
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
			storeWorkload(t, files, c, events)
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
	storeWorkload(t, files, c, events)
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
