package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/store"
)

// stopped moves rep as a stop leaves it, and hands a stopping replay to the worker, which
// ends it once its shards have stopped.
func (s *Server) stopped(ctx context.Context, rep capture.Replay) (capture.Replay, error) {
	next, err := capture.StopReplay(rep, s.Now())
	if err != nil {
		return capture.Replay{}, err
	}
	if err := s.Store.MoveReplay(ctx, next, rep.Status); err != nil {
		return capture.Replay{}, fmt.Errorf("stop replay %d: %w", rep.ID, err)
	}
	if next.Status == capture.Stopping {
		s.handOff(ctx, lifecycle.ReplayEvent(lifecycle.ActionStop, next))
	}
	return next, nil
}

// deleteReplay deletes a replay, stopping it first if it runs (its shards then find it gone
// and stop), and with deleteLogs=true its files.
func (s *Server) deleteReplay(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	files, err := deleteLogs(r)
	if err != nil {
		return err
	}
	for range maxRetries {
		rep, member, err := s.loadOwnReplay(r, who)
		if err != nil {
			return err
		}
		if rep, err = s.dropReplay(r.Context(), rep, files); errors.Is(err, capture.ErrChanged) {
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

// deleteLogs reads a delete's ?deleteLogs: whether the files go too.
func deleteLogs(r *http.Request) (bool, error) {
	raw := r.URL.Query().Get("deleteLogs")
	if raw != "" && raw != "true" && raw != "false" {
		return false, badRequest("deleteLogs must be true or false")
	}
	return raw == "true", nil
}

// dropReplay is the one way a replay is deleted, on its own or with its capture or an
// environment: a RUNNING replay is stopped first (its shards see it stopped, then gone, within
// a second, and close their sessions on the target), then it is deleted on condition that it
// is as read, and the worker lets go of the target server it may hold; with files, its files
// go too. It returns the replay as it was deleted; capture.ErrChanged if it moved or was
// renamed meanwhile: read it again and retry.
func (s *Server) dropReplay(ctx context.Context, rep capture.Replay, files bool) (capture.Replay, error) {
	if rep.Status == capture.Running {
		var err error
		if rep, err = s.stopped(ctx, rep); err != nil {
			return capture.Replay{}, err
		}
	}
	if err := s.Store.DeleteReplay(ctx, rep); err != nil {
		return capture.Replay{}, err
	}
	if rep.Status.MayRun() {
		// No end will come for it now: the worker lets go of its target server.
		s.handOff(ctx, lifecycle.ReplayEvent(lifecycle.ActionRelease, rep))
	}
	if files {
		// The record is gone: a failure here is the operator's to see, not the caller's.
		if err := s.Files.DeletePrefix(ctx, layout.ReplayPrefix(rep.ID)); err != nil {
			s.Log.ErrorContext(ctx, "replay deleted, its files not", "replay_id", rep.ID, "error", err.Error())
		}
	}
	return rep, nil
}

// cascadePage is how many replays a capture's or an environment's delete reads at a time.
const cascadePage = 25

// dropReplays deletes every replay pages lists, each as DELETE /api/replays/{id} does
// (dropReplay), whoever owns it: it goes with the capture it replays or the environment it
// targets. A replay that moves meanwhile is read again and deleted as it now is. On return
// none of them is left, RUNNING or otherwise.
func (s *Server) dropReplays(ctx context.Context, pages *store.ReplayPages, files bool) error {
	for {
		page, more, err := pages.Next(ctx)
		if err != nil {
			return err
		}
		for _, rep := range page {
			if err := s.dropAgain(ctx, rep, files); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// dropAgain is dropReplay, reading rep again each time it lost a race.
func (s *Server) dropAgain(ctx context.Context, rep capture.Replay, files bool) error {
	for range maxRetries {
		_, err := s.dropReplay(ctx, rep, files)
		if !errors.Is(err, capture.ErrChanged) {
			return err
		}
		if rep, err = s.Store.Replay(ctx, rep.ID); errors.Is(err, capture.ErrReplayNotFound) {
			return nil // deleted by someone else meanwhile
		} else if err != nil {
			return err
		}
	}
	return capture.ErrChanged
}
