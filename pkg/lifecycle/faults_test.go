package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/workload"
)

// The faults the matrix injects, each into one step of a capture's life.
const (
	faultDB     = "the database refuses"
	faultS3     = "S3 fails"
	faultDynamo = "a DynamoDB write fails"
	faultKill   = "the process is killed"
)

// faults switches failures on and off. A kill makes the first call of the named kind block for
// good, as if the process running it had died there; nothing after it in that step runs.
type faults struct {
	mu             sync.Mutex
	db, s3, dynamo bool
	kill           string         // the call to die in
	killed         chan struct{}  // closed once it died
	dead           chan struct{}  // closed at the end of the test, to let the goroutine go
	calls          map[string]int // the calls made since the fault was set, by kind
}

func (f *faults) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *faults) check(call string, failing func(*faults) bool) error {
	f.mu.Lock()
	if f.calls != nil {
		f.calls[call]++
	}
	kill := f.kill == call
	if kill {
		f.kill = ""
	}
	fail := failing(f)
	f.mu.Unlock()
	if kill {
		close(f.killed)
		<-f.dead
		return errors.New("killed")
	}
	if fail {
		return fmt.Errorf("injected: %s fails", call)
	}
	return nil
}

func (f *faults) dynamoWrite(call string) error {
	return f.check(call, func(f *faults) bool { return f.dynamo })
}

// LookupNetIP resolves the test's database host, unless the database is made to refuse.
func (f *faults) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if err := f.check("dial", func(f *faults) bool { return f.db }); err != nil {
		return nil, fmt.Errorf("connection refused: %w", err)
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// faultyStore is the table with its recording writes open to faults.
type faultyStore struct {
	*store.Store
	f *faults
}

func (s faultyStore) SaveWorkloads(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error {
	if err := s.f.dynamoWrite("SaveWorkload"); err != nil {
		return err
	}
	return s.Store.SaveWorkloads(ctx, moves, sample)
}

func (s faultyStore) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	if err := s.f.dynamoWrite("SaveWorkload"); err != nil {
		return err
	}
	return s.Store.SaveWorkload(ctx, id, from, to)
}

func (s faultyStore) SetCaptureLease(ctx context.Context, id int64, key, server string) error {
	if err := s.f.dynamoWrite("SetCaptureLease"); err != nil {
		return err
	}
	return s.Store.SetCaptureLease(ctx, id, key, server)
}

func (s faultyStore) HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error {
	if err := s.f.dynamoWrite("HoldLog"); err != nil {
		return err
	}
	return s.Store.HoldLog(ctx, key, id, envID, before, restores, now, sweepAt)
}

func (s faultyStore) ReleaseLog(ctx context.Context, key string, id int64, now time.Time) (bool, error) {
	if err := s.f.dynamoWrite("ReleaseLog"); err != nil {
		return false, err
	}
	return s.Store.ReleaseLog(ctx, key, id, now)
}

func (s faultyStore) ClaimRestore(ctx context.Context, key string, now, until time.Time) (lease.Lease, error) {
	if err := s.f.dynamoWrite("ClaimRestore"); err != nil {
		return lease.Lease{}, err
	}
	return s.Store.ClaimRestore(ctx, key, now, until)
}

func (s faultyStore) RestoreDone(ctx context.Context, key string, until, now time.Time) error {
	if err := s.f.dynamoWrite("RestoreDone"); err != nil {
		return err
	}
	return s.Store.RestoreDone(ctx, key, until, now)
}

func (s faultyStore) LockCollector(ctx context.Context, server string, now, until time.Time) (lease.Collector, error) {
	if err := s.f.dynamoWrite("LockCollector"); err != nil {
		return lease.Collector{}, err
	}
	return s.Store.LockCollector(ctx, server, now, until)
}

func (s faultyStore) ClaimCollection(ctx context.Context, server string, until time.Time, rot lease.Collection, now time.Time) error {
	if err := s.f.dynamoWrite("ClaimCollection"); err != nil {
		return err
	}
	return s.Store.ClaimCollection(ctx, server, until, rot, now)
}

func (s faultyStore) CollectionDone(ctx context.Context, server string, until time.Time, n int, now time.Time) error {
	if err := s.f.dynamoWrite("CollectionDone"); err != nil {
		return err
	}
	return s.Store.CollectionDone(ctx, server, until, n, now)
}

func (s faultyStore) AddSample(ctx context.Context, id int64, sm metrics.Sample) error {
	if err := s.f.dynamoWrite("AddSample"); err != nil {
		return err
	}
	return s.Store.AddSample(ctx, id, sm)
}

// faultyFiles is the captures' files with S3's calls open to faults.
type faultyFiles struct {
	blob.Dir
	f *faults
}

func (b faultyFiles) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if err := b.f.check("Put", func(f *faults) bool { return f.s3 }); err != nil {
		return err
	}
	return b.Dir.Put(ctx, key, body)
}

func (b faultyFiles) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.f.check("Open", func(f *faults) bool { return f.s3 }); err != nil {
		return nil, err
	}
	return b.Dir.Open(ctx, key)
}

// readWorkload lists the application's statements in c's workload file.
func readWorkload(t *testing.T, files blob.Dir, c capture.Capture) []string {
	t.Helper()
	r, err := files.Open(context.Background(), layout.WorkloadKey(c))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	err = workload.Each(r, func(ev workload.Event) error {
		if ev.User == "app" && ev.IsStatement() {
			out = append(out, ev.SQL)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type plainSecrets struct{}

func (plainSecrets) Open(_ context.Context, _ int64, sealed string) (string, error) {
	return sealed, nil
}
