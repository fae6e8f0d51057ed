package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/store"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// maxRetries bounds how often a write that lost a race is decided anew on fresh data.
const maxRetries = 3

// listCaptures answers a page of the captures of the caller's environments (or of ?envId=),
// newest ListedAt first: upcoming ones by their scheduled start, then the rest by their start.
func (s *Server) listCaptures(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	ctx := r.Context()
	q := r.URL.Query()
	pg, err := pageOf(q, "captures", store.IsListPosition)
	if err != nil {
		return err
	}
	find, err := captureQuery(q)
	if err != nil {
		return err
	}
	var envIDs []int64
	if raw := q.Get("envId"); raw != "" || q.Has("envId") {
		envID, err := positiveID(raw, "envId")
		if err != nil {
			return err
		}
		if _, _, err := s.Store.Access(ctx, envID, who.ID); err != nil {
			return err
		}
		envIDs = []int64{envID}
	} else {
		members, err := s.Store.Memberships(ctx, who.ID)
		if err != nil {
			return err
		}
		for _, m := range members {
			envIDs = append(envIDs, m.EnvID)
		}
	}
	caps, next, err := s.Store.CapturesPage(ctx, envIDs, find, pg.after, pg.limit)
	if err != nil {
		return err
	}
	linkNext(w, r, "captures", next)
	return writeCaptures(w, caps)
}

func writeCaptures(w http.ResponseWriter, caps []capture.Capture) error {
	out := make([]captureJSON, len(caps))
	for i, c := range caps {
		out[i] = captureView(c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// loadCapture reads the capture named by the path and the caller's membership of its
// environment: 404 if either the capture or its environment is gone, 403 for non-members.
func (s *Server) loadCapture(r *http.Request, who auth.Identity) (capture.Capture, capture.Member, error) {
	ctx := r.Context()
	c, err := s.pathCapture(r)
	if err != nil {
		return capture.Capture{}, capture.Member{}, err
	}
	m, err := s.Store.Member(ctx, c.EnvID, who.ID)
	if errors.Is(err, capture.ErrNotMember) {
		// Only on this path is the environment read too: was it deleted under the capture?
		if _, envErr := s.Store.Environment(ctx, c.EnvID); errors.Is(envErr, capture.ErrEnvNotFound) {
			return capture.Capture{}, capture.Member{}, capture.ErrCaptureEnvNotFound
		}
	}
	if err != nil {
		return capture.Capture{}, capture.Member{}, err
	}
	return c, m, nil
}

// pathCapture reads the capture the path names.
func (s *Server) pathCapture(r *http.Request) (capture.Capture, error) {
	id, err := positiveID(r.PathValue("id"), "Capture id")
	if err != nil {
		return capture.Capture{}, err
	}
	return s.Store.Capture(r.Context(), id)
}

// loadOwnCapture is loadCapture for changes: only the owner or an admin may go on.
func (s *Server) loadOwnCapture(r *http.Request, who auth.Identity) (capture.Capture, error) {
	c, m, err := s.loadCapture(r, who)
	if err != nil {
		return capture.Capture{}, err
	}
	if !capture.CanChange(c, m) {
		return capture.Capture{}, capture.ErrNotOwner
	}
	return c, nil
}

func (s *Server) getCapture(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	c, _, err := s.loadCapture(r, who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, captureView(c))
	return nil
}

// metricJSON is one metric series in the contract's shape.
type metricJSON struct {
	Label       string          `json:"label"`
	Type        string          `json:"type"`
	DisplayName string          `json:"displayName"`
	DataPoints  []dataPointJSON `json:"dataPoints"`
}

type dataPointJSON struct {
	Timestamp apiTime `json:"Timestamp"`
	Maximum   float64 `json:"Maximum"`
	Unit      string  `json:"Unit"`
}

type createCaptureBody struct {
	Name           *string  `json:"name"`
	EnvID          *int64   `json:"envId"`
	Status         *string  `json:"status"`
	ScheduledStart *apiTime `json:"scheduledStart"`
	Duration       *float64 `json:"duration"`
	limitsBody
}

// request turns a decoded body into the domain's create request.
func (b createCaptureBody) request() (capture.Request, error) {
	req := capture.Request{Duration: b.Duration}
	if b.Name != nil {
		req.Name = *b.Name
	}
	if b.EnvID != nil {
		req.EnvID = *b.EnvID
	}
	if b.Status != nil {
		req.Status = capture.Status(*b.Status)
		if req.Status == "" {
			return capture.Request{}, capture.ErrStatusInvalid
		}
	}
	if b.ScheduledStart != nil {
		t := time.Time(*b.ScheduledStart)
		req.ScheduledStart = &t
	}
	var err error
	if req.Limits, err = b.limits(); err != nil {
		return capture.Request{}, err
	}
	req.Filters = b.Filters.filters()
	return req, nil
}

func (s *Server) createCapture(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body createCaptureBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	req, err := body.request()
	if err != nil {
		return err
	}
	c, err := capture.New(req, who.ID, s.Now())
	c.OwnerName = who.Name
	if err != nil {
		return err
	}
	env, _, err := s.Store.Access(r.Context(), c.EnvID, who.ID)
	if err != nil {
		return err
	}
	if env.Target {
		// Its user was not checked for the general log's privileges, and replays write there.
		return capture.ErrEnvTargetOnly
	}
	c, err = s.Store.CreateCapture(r.Context(), c)
	if err != nil {
		return err
	}
	if c.Status == capture.Started {
		s.handOff(r.Context(), lifecycle.CaptureEvent(lifecycle.ActionStart, c))
	}
	writeJSON(w, http.StatusOK, captureView(c))
	return nil
}

type editCaptureBody struct {
	Name *string `json:"name"`
	limitsBody
}

// editCapture renames a capture, and while it is scheduled changes its limits and filters
// (when the body names any: those it leaves out are removed, as a PUT replaces them).
func (s *Server) editCapture(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body editCaptureBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Name == nil && body.given() {
		c, err := s.setLimits(r, who, body.limitsBody)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, captureView(c))
		return nil
	}
	name := ""
	if body.Name != nil {
		name = *body.Name
	}
	if err := capture.ValidateName(name); err != nil {
		return err
	}
	if body.given() {
		if _, err := s.setLimits(r, who, body.limitsBody); err != nil {
			return err
		}
	}
	for range maxRetries {
		c, err := s.loadOwnCapture(r, who)
		if err != nil {
			return err
		}
		if c.Name == name {
			writeJSON(w, http.StatusOK, captureView(c))
			return nil
		}
		c, err = s.Store.Rename(r.Context(), c, name, s.Now())
		if errors.Is(err, capture.ErrChanged) {
			continue
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, captureView(c))
		return nil
	}
	return capture.ErrChanged
}

func (s *Server) stopCapture(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	for range maxRetries {
		c, err := s.loadOwnCapture(r, who)
		if err != nil {
			return err
		}
		next, err := capture.Stop(c, s.Now())
		if err != nil {
			return err
		}
		err = s.Store.Move(r.Context(), next, c.Status)
		if errors.Is(err, capture.ErrChanged) {
			continue // someone else moved it: decide again on what it is now
		}
		if err != nil {
			return fmt.Errorf("stop capture %d: %w", c.ID, err)
		}
		if next.Status == capture.Stopping {
			s.handOff(r.Context(), lifecycle.CaptureEvent(lifecycle.ActionStop, c))
		}
		writeJSON(w, http.StatusOK, captureView(next))
		return nil
	}
	return capture.ErrChanged
}

// deleteCapture deletes a capture and, first, its replays (each as a replay's delete does,
// whoever owns it), with deleteLogs=true their files and its own.
func (s *Server) deleteCapture(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	files, err := deleteLogs(r)
	if err != nil {
		return err
	}
	for range maxRetries {
		c, err := s.loadOwnCapture(r, who)
		if err != nil {
			return err
		}
		if c.MayHaveReplays() {
			if err := s.dropReplays(r.Context(), s.Store.CaptureReplayPages(c.ID, cascadePage), files); err != nil {
				return err
			}
		}
		// Conditional on the replays counted as read: one made meanwhile is deleted on the retry.
		err = s.Store.DeleteCapture(r.Context(), c)
		if errors.Is(err, capture.ErrChanged) {
			continue
		}
		if err != nil {
			return err
		}
		if c.Status.MayRecord() {
			// It was recording, or about to, and no End will come for it now.
			s.handOff(r.Context(), lifecycle.CaptureEvent(lifecycle.ActionRelease, c))
		}
		s.deleteSamples(r.Context(), c)
		if files {
			// The record is gone already: a failure here leaves files nobody can reach
			// through the API, so it is logged for the operator rather than failing a delete
			// that happened.
			if err := s.Files.DeletePrefix(r.Context(), layout.FilesPrefix(c)); err != nil {
				s.Log.ErrorContext(r.Context(), "capture deleted, its files not", "capture_id", c.ID, "error", err.Error())
			}
		}
		writeJSON(w, http.StatusOK, captureView(c))
		return nil
	}
	return capture.ErrChanged
}

// workloadLinkTTL is how long a workload download link works: long enough to start a large
// download, short enough that a leaked link soon stops working.
const workloadLinkTTL = 5 * time.Minute

// setLimits replaces a scheduled capture's limits and filters.
func (s *Server) setLimits(r *http.Request, who auth.Identity, b limitsBody) (capture.Capture, error) {
	l, err := b.limits()
	if err != nil {
		return capture.Capture{}, err
	}
	f := b.Filters.filters()
	if err := f.Validate(); err != nil {
		return capture.Capture{}, err
	}
	for range maxRetries {
		c, err := s.loadOwnCapture(r, who)
		if err != nil {
			return capture.Capture{}, err
		}
		c, err = s.Store.SetLimits(r.Context(), c, l, f, s.Now())
		if !errors.Is(err, capture.ErrChanged) {
			return c, err
		}
	}
	return capture.Capture{}, capture.ErrChanged
}
