package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
)

// rdsSource reads an RDS instance's series over a window (rdsmetrics.CloudWatch on AWS).
type rdsSource interface {
	Window(ctx context.Context, instance string, start, end time.Time) ([]Series, error)
}

// sampleStore holds the status counter samples taken while a capture ran.
type sampleStore interface {
	Samples(ctx context.Context, captureID int64) ([]Sample, error)
}

// files keeps the stored copies.
type files interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// ErrNoCloudWatch is the error of an RDS environment's metrics where no CloudWatch client is
// configured (the local server).
var ErrNoCloudWatch = errors.New("CloudWatch is not configured here")

// Keeper reads a capture's metrics and keeps a copy of them beside its workload.
type Keeper struct {
	RDS     rdsSource // nil: RDS environments' metrics are unavailable
	Samples sampleStore
	Files   files
	Now     func() time.Time
}

// Window reads the series of c's window from their source: CloudWatch for RDS, the sampled
// status counters otherwise. A capture whose recording never began (capture.Workload.Began:
// scheduled, starting, or failed before its recorder signed in to the database) has every
// series, empty, and asks no source: an environment may name any RDS instance's endpoint, and
// only signing in to it shows the instance is the caller's to watch.
func (k *Keeper) Window(ctx context.Context, env capture.Environment, c capture.Capture) ([]Series, error) {
	kinds := KindsFor(env)
	if !c.Workload.Began() || c.Start == nil {
		return empty(kinds), nil
	}
	if !env.OnRDS() {
		samples, err := k.Samples.Samples(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		return FromSamples(samples), nil
	}
	if k.RDS == nil {
		return nil, ErrNoCloudWatch
	}
	end := k.Now()
	if c.End != nil {
		end = *c.End
	}
	return k.RDS.Window(ctx, env.Instance, *c.Start, end)
}

// Replay reads the target's series over replay r's window, live: CloudWatch's for an RDS
// target; any other target has every series, empty, since nothing samples its counters while
// a replay runs. A replay that has not begun has every series, empty, and asks no source.
func (k *Keeper) Replay(ctx context.Context, env capture.Environment, r capture.Replay) ([]Series, error) {
	if r.Start == nil || !env.OnRDS() || r.Start.After(k.Now()) {
		return empty(KindsFor(env)), nil
	}
	end := k.Now()
	if r.End != nil {
		end = *r.End
	}
	var series []Series
	err := ErrNoCloudWatch
	if k.RDS != nil {
		series, err = k.RDS.Window(ctx, env.Instance, *r.Start, end)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", &capture.Error{Kind: capture.Unavailable, Message: "The replay's metrics cannot be read from CloudWatch right now: " + err.Error()}, err)
	}
	return series, nil
}

func empty(kinds []Kind) []Series {
	out := make([]Series, len(kinds))
	for i, k := range kinds {
		out[i] = Series{Kind: k, Points: []Point{}}
	}
	return out
}

// Read returns c's series: the stored copy once there is one, read live before that. A source
// that fails is an error the caller can see (capture.Unavailable), not a fault of the service.
func (k *Keeper) Read(ctx context.Context, env capture.Environment, c capture.Capture) ([]Series, error) {
	if c.Metrics.Stored {
		return k.stored(ctx, c)
	}
	series, err := k.Window(ctx, env, c)
	if err != nil && env.OnRDS() {
		// The caller sees the message; the log, through the chain, CloudWatch's whole answer.
		return nil, fmt.Errorf("%w: %w", &capture.Error{Kind: capture.Unavailable, Message: "The capture's metrics cannot be read from CloudWatch right now: " + err.Error()}, err)
	}
	return series, err
}

// Keep stores the series of c's window as they are now.
func (k *Keeper) Keep(ctx context.Context, env capture.Environment, c capture.Capture) error {
	series, err := k.Window(ctx, env, c)
	if err != nil {
		return err
	}
	return k.put(ctx, c, series)
}

// KeepEmpty stores an empty copy, so a capture whose metrics could not be read still answers with every
// series, as empty as what could be measured.
func (k *Keeper) KeepEmpty(ctx context.Context, env capture.Environment, c capture.Capture) error {
	return k.put(ctx, c, empty(KindsFor(env)))
}

func (k *Keeper) put(ctx context.Context, c capture.Capture, series []Series) error {
	b, err := json.Marshal(series)
	if err != nil {
		return err
	}
	if err := k.Files.Put(ctx, layout.MetricsKey(c), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("store the metrics of capture %d: %w", c.ID, err)
	}
	return nil
}

// stored reads the copy put by Keep, already in time order.
func (k *Keeper) stored(ctx context.Context, c capture.Capture) ([]Series, error) {
	f, err := k.Files.Open(ctx, layout.MetricsKey(c))
	if err != nil {
		return nil, fmt.Errorf("capture %d: stored metrics: %w", c.ID, err)
	}
	defer f.Close()
	var series []Series
	if err := json.NewDecoder(f).Decode(&series); err != nil {
		return nil, fmt.Errorf("capture %d: stored metrics: %w", c.ID, err)
	}
	return series, nil
}
