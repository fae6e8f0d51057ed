package recording

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

// splitUserHost reads user_host, "priv_user[user] @ host [ip]": the account is the privileged
// user, or, on rows written before it is known (Connect), the user the client asked to be.
func splitUserHost(s string) (user, host string) {
	u, h, _ := strings.Cut(s, " @ ")
	if priv, asked, ok := strings.Cut(u, "["); ok {
		u = priv
		if u == "" {
			u = strings.TrimSuffix(asked, "]")
		}
	}
	if i := strings.IndexByte(h, '['); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(u), strings.TrimSpace(h)
}

// digestAsOf is c's digest before its fragment n: the one kept with fragment n-1.
func (r *Recorder) digestAsOf(ctx context.Context, c capture.Capture, n int) (*digest.State, error) {
	if n == 0 {
		return digest.New(), nil
	}
	dg, _, err := digest.LoadFragment(ctx, r.Blobs, c, n-1)
	if err != nil {
		return nil, fmt.Errorf("read the digest of capture %d: %w", c.ID, err)
	}
	return dg, nil
}

// assemble writes c's workload file, its fragments one after another, and its final digest. Each fragment is a
// whole gzip member, and a gzip file may hold several, so nothing is decompressed. Then the
// fragments are removed; a repeat after a crash finds the file recorded and skips all this.
func (r *Recorder) assemble(ctx context.Context, c capture.Capture) error {
	var size int64
	if c.Workload.Fragments == 0 {
		// An empty window still gets a file, a valid empty gzip stream.
		var empty bytes.Buffer
		if err := gzip.NewWriter(&empty).Close(); err != nil {
			return err
		}
		size = int64(empty.Len())
		if err := r.Blobs.Put(ctx, layout.WorkloadKey(c), bytes.NewReader(empty.Bytes())); err != nil {
			return err
		}
	} else {
		keys := make([]string, c.Workload.Fragments)
		for n := range keys {
			keys[n] = layout.FragmentKey(c, n)
		}
		// Streamed where the files are (parts of a multipart upload on S3): the workload can
		// be far larger than the worker's disk.
		var err error
		if size, err = r.Blobs.Concat(ctx, layout.WorkloadKey(c), keys); err != nil {
			return fmt.Errorf("assemble the workload of capture %d: %w", c.ID, err)
		}
	}
	dg, err := r.digestAsOf(ctx, c, c.Workload.Fragments)
	if err != nil {
		return err
	}
	if err := digest.Save(ctx, r.Blobs, layout.DigestKey(c), dg); err != nil {
		return err
	}
	to := c.Workload
	to.Bytes = size
	if err := r.Store.SaveWorkload(ctx, c.ID, c.Workload, to); err != nil {
		return err
	}
	if err := r.Blobs.DeletePrefix(ctx, layout.FragmentsPrefix(c)); err != nil {
		r.logger().WarnContext(ctx, "fragments left behind", "capture_id", c.ID, "error", err.Error())
	}
	r.logger().InfoContext(ctx, "workload written", "capture_id", c.ID, "bytes", size,
		"statements", to.Statements, "fragments", to.Fragments)
	return nil
}

// folder folds statements into digests on another goroutine, in batches, so that
// fingerprinting runs beside reading, encoding and compressing the log instead of after each
// row. Each statement is fingerprinted once, however many digests it goes into.
type folder struct {
	batches chan []folding
	batch   []folding
	done    chan struct{}
	waited  bool
}

// folding is one statement and the digests it goes into.
type folding struct {
	e  workload.Event
	to []*digest.State
}

const foldBatch = 256

func digestFolder() *folder {
	f := &folder{batches: make(chan []folding, 8), batch: make([]folding, 0, foldBatch), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		var cl digest.Classifier
		for b := range f.batches {
			for _, it := range b {
				st := digest.Statement{Time: it.e.Time, Thread: it.e.Thread, User: it.e.User, DB: it.e.DB, SQL: it.e.SQL}
				class := cl.Classify(st.SQL)
				for _, dg := range it.to {
					dg.AddClassified(st, class)
				}
			}
		}
	}()
	return f
}

func (f *folder) add(e workload.Event, to []*digest.State) {
	f.batch = append(f.batch, folding{e, to})
	if len(f.batch) == foldBatch {
		f.batches <- f.batch
		f.batch = make([]folding, 0, foldBatch)
	}
}

// wait hands on what is left and returns once everything is folded; calling it again does
// nothing.
func (f *folder) wait() {
	if f.waited {
		return
	}
	f.waited = true
	if len(f.batch) > 0 {
		f.batches <- f.batch
	}
	close(f.batches)
	<-f.done
}
