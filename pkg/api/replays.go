package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/store"
)

// listReplays answers the replays the caller may read (a member of its target or of its
// capture's environment), newest first: of one capture (?captureId), into one target (?envId),
// of one name (?name, exact).
func (s *Server) listReplays(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	ctx := r.Context()
	q := r.URL.Query()
	var (
		reps     []capture.Replay
		envID    int64
		err      error
		hasEnvID = q.Has("envId")
		targets  map[int64]bool // the environments the caller is a member of, when read
	)
	if hasEnvID {
		if envID, err = positiveID(q.Get("envId"), "envId"); err != nil {
			return err
		}
	}
	switch {
	case q.Has("captureId"):
		id, err := positiveID(q.Get("captureId"), "captureId")
		if err != nil {
			return err
		}
		c, err := s.Store.Capture(ctx, id)
		if errors.Is(err, capture.ErrCaptureNotFound) {
			return capture.CaptureMissing(id, capture.NotFound)
		}
		if err != nil {
			return err
		}
		// Every replay of a capture its caller may read is readable: they are in its environment.
		if _, err := s.Store.Member(ctx, c.EnvID, who.ID); errors.Is(err, capture.ErrNotMember) {
			return capture.CaptureMissing(id, capture.NotFound)
		} else if err != nil {
			return err
		}
		if reps, err = s.Store.CaptureReplays(ctx, id); err != nil {
			return err
		}
	case hasEnvID:
		if _, _, err := s.Store.Access(ctx, envID, who.ID); err != nil {
			return err
		}
		if reps, err = s.Store.EnvReplays(ctx, []int64{envID}); err != nil {
			return err
		}
		targets = map[int64]bool{envID: true}
	default:
		members, err := s.Store.Memberships(ctx, who.ID)
		if err != nil {
			return err
		}
		envs := make([]int64, len(members))
		targets = map[int64]bool{}
		for i, m := range members {
			envs[i] = m.EnvID
			targets[m.EnvID] = true
		}
		if reps, err = s.Store.EnvReplays(ctx, envs); err != nil {
			return err
		}
	}
	// Of a capture, into targets the caller may not be in: read only when a reason needs it.
	if targets == nil && slices.ContainsFunc(reps, func(r capture.Replay) bool {
		return strings.HasPrefix(r.Reason, capture.ReplayTargetFailPrefix)
	}) {
		members, err := s.Store.Memberships(ctx, who.ID)
		if err != nil {
			return err
		}
		targets = map[int64]bool{}
		for _, m := range members {
			targets[m.EnvID] = true
		}
	}
	name := q.Get("name")
	out := make([]replayJSON, 0, len(reps))
	for _, rep := range reps {
		if hasEnvID && rep.EnvID != envID || name != "" && rep.Name != name {
			continue
		}
		out = append(out, replayFor(rep, targets[rep.EnvID]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pathReplay reads the replay the path names.
func (s *Server) pathReplay(r *http.Request) (capture.Replay, error) {
	id, err := positiveID(r.PathValue("id"), "Replay id")
	if err != nil {
		return capture.Replay{}, err
	}
	return s.Store.Replay(r.Context(), id)
}

// loadReplay reads the replay the path names, its environments and the caller's memberships of
// them: 404 if it is gone, 403 unless the caller is a member of its target or of its capture's
// environment.
func (s *Server) loadReplay(r *http.Request, who auth.Identity) (capture.Replay, store.Reach, error) {
	rep, err := s.pathReplay(r)
	if err != nil {
		return capture.Replay{}, store.Reach{}, err
	}
	return s.readable(r, who, rep)
}

// readable is rep with its environments and the caller's memberships of them: 403 unless
// the caller may read it (a member of its target or of its capture's environment).
func (s *Server) readable(r *http.Request, who auth.Identity, rep capture.Replay) (capture.Replay, store.Reach, error) {
	reach, err := s.Store.Reach(r.Context(), who.ID, rep.EnvID, rep.CaptureEnvID)
	if err != nil {
		return capture.Replay{}, store.Reach{}, err
	}
	_, target := reach.Member(rep.EnvID)
	_, source := reach.Member(rep.CaptureEnvID)
	if !target && !source {
		return capture.Replay{}, store.Reach{}, capture.ErrNotMember
	}
	return rep, reach, nil
}

// loadOwnReplay is loadReplay for changes: only its owner or an admin of its target may go on.
// targetMember says whether the caller is a member of the target (an owner need not be
// still), which what they are answered depends on (replayFor).
func (s *Server) loadOwnReplay(r *http.Request, who auth.Identity) (rep capture.Replay, targetMember bool, err error) {
	rep, reach, err := s.loadReplay(r, who)
	if err != nil {
		return capture.Replay{}, false, err
	}
	m, targetMember := reach.Member(rep.EnvID)
	m.UserID = who.ID
	if !capture.CanChangeReplay(rep, m) {
		return capture.Replay{}, false, capture.ErrNotReplayOwner
	}
	return rep, targetMember, nil
}

func (s *Server) getReplay(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	rep, reach, err := s.loadReplay(r, who)
	if err != nil {
		return err
	}
	_, member := reach.Member(rep.EnvID)
	writeJSON(w, http.StatusOK, replayFor(rep, member))
	return nil
}

type createReplayBody struct {
	Name           *string      `json:"name"`
	CaptureID      *int64       `json:"captureId"`
	EnvID          *int64       `json:"envId"`
	Status         *string      `json:"status"`
	ScheduledStart *apiTime     `json:"scheduledStart"`
	Speed          *float64     `json:"speed"`
	Mode           *string      `json:"mode"`
	MaxConnections *int         `json:"maxConnections"`
	Filters        *filtersJSON `json:"filters"`
}

func (b createReplayBody) request() (capture.ReplayRequest, error) {
	req := capture.ReplayRequest{Speed: b.Speed, MaxConnections: b.MaxConnections, Filters: b.Filters.filters()}
	if b.Name != nil {
		req.Name = *b.Name
	}
	if b.CaptureID != nil {
		req.CaptureID = *b.CaptureID
	}
	if b.EnvID != nil {
		req.EnvID = *b.EnvID
	}
	if b.Status != nil {
		if req.Status = capture.Status(*b.Status); req.Status == "" {
			return capture.ReplayRequest{}, capture.ErrStatusInvalid
		}
	}
	if b.Mode != nil {
		if req.Mode = capture.ReplayMode(*b.Mode); req.Mode == "" {
			return capture.ReplayRequest{}, capture.ErrModeInvalid
		}
	}
	if b.ScheduledStart != nil {
		t := time.Time(*b.ScheduledStart)
		req.ScheduledStart = &t
	}
	return req, nil
}

// createReplay stores a replay of a done capture into a target the caller administers, and
// hands its start to the worker (a scheduled one waits for the scheduler).
func (s *Server) createReplay(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	ctx := r.Context()
	var body createReplayBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	req, err := body.request()
	if err != nil {
		return err
	}
	rep, err := capture.NewReplay(req, who.ID, s.Now())
	if err != nil {
		return err
	}
	rep.OwnerName = who.Name
	c, err := s.Store.Capture(ctx, rep.CaptureID)
	found := err == nil
	if err != nil && !errors.Is(err, capture.ErrCaptureNotFound) {
		return err
	}
	var reach store.Reach
	if found {
		if reach, err = s.Store.Reach(ctx, who.ID, c.EnvID, rep.EnvID); err != nil {
			return err
		}
		_, found = reach.Member(c.EnvID) // a capture the caller may not read is not there for them
	}
	if err := capture.Replayable(c, rep.CaptureID, found); err != nil {
		return err
	}
	target, ok := reach.Envs[rep.EnvID]
	if !ok {
		return capture.ErrEnvNotFound
	}
	m, ok := reach.Member(rep.EnvID)
	switch {
	case !ok:
		return capture.ErrNotMember
	case !m.IsAdmin:
		return capture.ErrNotAdmin
	}
	// As far as the API can tell: the same environment, or one naming the same address. The
	// worker proves it over the two connections before it sends a statement.
	if src, ok := reach.Envs[c.EnvID]; c.EnvID == rep.EnvID || ok && capture.TargetKey(src) == capture.TargetKey(target) {
		return capture.ErrSameServer
	}
	rep.CaptureEnvID, rep.Target = c.EnvID, capture.TargetKey(target)
	if rep, err = s.Store.CreateReplay(ctx, rep); err != nil {
		return err
	}
	if rep.Status == capture.Started {
		s.handOff(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, rep))
	}
	writeJSON(w, http.StatusOK, replayView(rep))
	return nil
}

// editReplay renames a replay.
func (s *Server) editReplay(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body struct {
		Name *string `json:"name"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	name := ""
	if body.Name != nil {
		name = *body.Name
	}
	if err := capture.ValidateReplayName(name); err != nil {
		return err
	}
	for range maxRetries {
		rep, member, err := s.loadOwnReplay(r, who)
		if err != nil {
			return err
		}
		if rep.Name != name {
			rep, err = s.Store.RenameReplay(r.Context(), rep, name)
		}
		if errors.Is(err, capture.ErrChanged) {
			continue
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, replayFor(rep, member))
		return nil
	}
	return capture.ErrChanged
}

// stopReplay stops a running replay (its shards see it within a second) or cancels a
// scheduled one.
func (s *Server) stopReplay(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	for range maxRetries {
		rep, member, err := s.loadOwnReplay(r, who)
		if err != nil {
			return err
		}
		next, err := s.stopped(r.Context(), rep)
		if errors.Is(err, capture.ErrChanged) {
			continue
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, replayFor(next, member))
		return nil
	}
	return capture.ErrChanged
}

// replayMetrics answers the target's metrics over the replay's window, as a capture's.
func (s *Server) replayMetrics(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	kind, err := metrics.ParseType(r.URL.Query().Get("type"))
	if err != nil {
		return err
	}
	rep, reach, err := s.loadReplay(r, who)
	if err != nil {
		return err
	}
	env, ok := reach.Envs[rep.EnvID]
	if !ok {
		return capture.ErrEnvNotFound
	}
	series, err := s.Metrics.Replay(r.Context(), env, rep)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, metricsView(metrics.Only(series, kind)))
	return nil
}
