package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// race runs n calls of fn at once and returns how many succeeded; every other must fail with
// want.
func race(t *testing.T, n int, want error, fn func(i int) error) int {
	t.Helper()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case err.Error() != want.Error() || capture.KindOf(err) != capture.Conflict:
				t.Errorf("call %d: %v, want %v", i, err, want)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

func newEnv(t *testing.T, st *store.Store, owner string) (capture.Environment, error) {
	t.Helper()
	ctx := context.Background()
	id, err := st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: fmt.Sprintf("env %d", id), OwnerID: owner, Host: "h", Port: 1, DBName: "d", User: "u", Created: time.Now()})
}

// TestEnvironmentQuota: of 20 environments one user creates at once with room for 5, exactly
// 5 are made; another user has their own room; deleting one makes room for one more, and
// deleting it again makes no more.
func TestEnvironmentQuota(t *testing.T) {
	st := storetest.New(t, nil)
	st.Quotas = capture.Quotas{Environments: 5, LiveCaptures: 10}
	full := st.Quotas.TooManyEnvironments()
	var (
		mu    sync.Mutex
		alice []capture.Environment
	)
	made := race(t, 20, full, func(int) error {
		env, err := newEnv(t, st, "alice")
		if err == nil {
			mu.Lock()
			alice = append(alice, env)
			mu.Unlock()
		}
		return err
	})
	if made != 5 || len(alice) != 5 {
		t.Fatalf("%d of 20 concurrent creates made an environment, want 5", made)
	}
	if _, err := newEnv(t, st, "bob"); err != nil {
		t.Fatalf("another user's first environment: %v", err)
	}

	ctx := context.Background()
	if err := st.DeleteEnvironment(ctx, alice[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteEnvironment(ctx, alice[0].ID); err != nil { // a deletion done again
		t.Fatal(err)
	}
	if made := race(t, 5, full, func(int) error { _, err := newEnv(t, st, "alice"); return err }); made != 1 {
		t.Errorf("after one deletion %d of 5 concurrent creates made an environment, want 1", made)
	}
	if _, err := newEnv(t, st, "alice"); err == nil || err.Error() != full.Error() {
		t.Errorf("a sixth environment: %v, want %q", err, full)
	}
}

// TestLiveCaptureQuota: of 20 captures created at once in an environment with room for 5,
// exactly 5 are; a capture that ends (done, failed, cancelled) or is deleted makes room for
// one more, a refused move makes none, and ended captures never count. Ends and creates racing
// each other never leave more than 5 live.
func TestLiveCaptureQuota(t *testing.T) {
	st := storetest.New(t, nil)
	st.Quotas = capture.Quotas{Environments: 5, LiveCaptures: 5}
	full := st.Quotas.TooManyCaptures()
	env, err := newEnv(t, st, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	var n atomic.Int64 // names the captures
	create := func() (capture.Capture, error) {
		name := fmt.Sprintf("capture %d", n.Add(1))
		c, err := capture.New(capture.Request{Name: name, EnvID: env.ID}, "alice", now)
		if err != nil {
			t.Fatal(err)
		}
		return st.CreateCapture(ctx, c)
	}
	var (
		mu   sync.Mutex
		live []capture.Capture
	)
	if made := race(t, 20, full, func(int) error {
		c, err := create()
		if err == nil {
			mu.Lock()
			live = append(live, c)
			mu.Unlock()
		}
		return err
	}); made != 5 {
		t.Fatalf("%d of 20 concurrent creates made a capture, want 5", made)
	}
	if _, err := create(); err == nil || err.Error() != full.Error() {
		t.Fatalf("a sixth: %v, want %q", err, full)
	}

	// A move that loses (the capture is not in the status it names) frees nothing.
	stale, _ := capture.Fail(live[0], "x", now)
	if err := st.Move(ctx, stale, capture.Running); !errors.Is(err, capture.ErrChanged) {
		t.Fatalf("stale move: %v", err)
	}
	if _, err := create(); err == nil {
		t.Fatal("a refused move made room")
	}
	// Each way out of live makes room for exactly one.
	ends := map[string]func(capture.Capture) error{
		"failed": func(c capture.Capture) error {
			next, _ := capture.Fail(c, "gone wrong", now)
			return st.Move(ctx, next, c.Status)
		},
		"done": func(c capture.Capture) error {
			for _, to := range []capture.Status{capture.Starting, capture.Running, capture.Stopping, capture.Done} {
				next, err := capture.Move(c, to, now)
				if err != nil {
					return err
				}
				if err := st.Move(ctx, next, c.Status); err != nil {
					return err
				}
				c = next
			}
			return nil
		},
		"deleted": func(c capture.Capture) error { return st.DeleteCapture(ctx, c) },
	}
	i := 0
	for name, end := range ends {
		if err := end(live[i]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if made := race(t, 3, full, func(int) error { _, err := create(); return err }); made != 1 {
			t.Errorf("after one capture %s, %d of 3 creates made one, want 1", name, made)
		}
		i++
	}

	// Five live now. Five ends race ten creates: never more than five live, and the set holds
	// exactly the live ones.
	all, err := st.EnvironmentCaptures(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	var open []capture.Capture
	for _, c := range all {
		if c.Status.Live() {
			open = append(open, c)
		}
	}
	if len(open) != 5 {
		t.Fatalf("%d live captures, want 5", len(open))
	}
	made := race(t, 15, full, func(i int) error {
		if i < 5 {
			next, _ := capture.Fail(open[i], "ended in the race", now)
			if err := st.Move(ctx, next, open[i].Status); err != nil {
				t.Errorf("end %d: %v", open[i].ID, err)
			}
			return nil
		}
		_, err := create()
		return err
	}) - 5
	all, _ = st.EnvironmentCaptures(ctx, env.ID)
	nLive := 0
	for _, c := range all {
		if c.Status.Live() {
			nLive++
		}
	}
	if nLive != made || nLive > 5 || made < 1 {
		t.Errorf("after the race %d live, %d made: want the same, from 1 to 5", nLive, made)
	}
	room := 5 - nLive
	if got := race(t, 10, full, func(int) error { _, err := create(); return err }); got != room {
		t.Errorf("%d more made with %d live, want %d: the count drifted", got, nLive, room)
	}
}
