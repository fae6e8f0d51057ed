package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/layout"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

func metricsView(series []metrics.Series) []metricJSON {
	out := make([]metricJSON, len(series))
	for i, s := range series {
		points := make([]dataPointJSON, len(s.Points))
		for j, p := range s.Points {
			points[j] = dataPointJSON{Timestamp: apiTime(p.Time), Maximum: p.Maximum, Unit: p.Unit}
		}
		out[i] = metricJSON{Label: s.Kind.Label, Type: s.Kind.Type, DisplayName: s.Kind.Type, DataPoints: points}
	}
	return out
}

func (s *Server) captureMetrics(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	kind, err := metrics.ParseType(r.URL.Query().Get("type"))
	if err != nil {
		return err
	}
	c, err := s.pathCapture(r)
	if err != nil {
		return err
	}
	// The environment says where the metrics come from; it is read with the membership.
	env, _, err := s.Store.Access(r.Context(), c.EnvID, who.ID)
	if errors.Is(err, capture.ErrEnvNotFound) {
		return capture.ErrCaptureEnvNotFound
	}
	if err != nil {
		return err
	}
	series, err := s.Metrics.Read(r.Context(), env, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, metricsView(metrics.Only(series, kind)))
	return nil
}

func (s *Server) captureWorkload(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	c, _, err := s.loadCapture(r, who)
	if err != nil {
		return err
	}
	if !c.Workload.Recorded() {
		return c.WorkloadMissing()
	}
	key := layout.WorkloadKey(c)
	if l, ok := s.Files.(linker); ok {
		url, err := l.Link(r.Context(), key, workloadLinkTTL)
		if err != nil {
			return err
		}
		http.Redirect(w, r, url, http.StatusFound)
		return nil
	}
	f, err := s.Files.Open(r.Context(), key)
	if errors.Is(err, blob.ErrNotFound) {
		return capture.ErrNoWorkload
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="capture-%d-workload.jsonl.gz"`, c.ID))
	w.Header().Set("Content-Length", strconv.FormatInt(c.Workload.Bytes, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		// The status is sent: all that is left is to cut the download short and say why.
		s.Log.ErrorContext(r.Context(), "workload download cut short", "capture_id", c.ID, "error", err.Error())
	}
	return nil
}

// deleteSamples deletes the counter samples of a capture that recorded, once the capture is
// gone; a failure is logged, and the samples' TTL removes them later.
func (s *Server) deleteSamples(ctx context.Context, c capture.Capture) {
	if !c.Workload.Began() {
		return // never recorded, so never sampled
	}
	if err := s.Store.DeleteSamples(ctx, c.ID); err != nil {
		s.Log.WarnContext(ctx, "capture deleted, its samples not", "capture_id", c.ID, "error", err.Error())
	}
}
