package api

import (
	"strings"

	"github.com/mycrt/captures/pkg/capture"
)

// replayJSON is a replay as the contract shows it.
type replayJSON struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name"`
	CaptureID      int64        `json:"captureId"`
	EnvID          int64        `json:"envId"`
	Start          *apiTime     `json:"start"`
	End            *apiTime     `json:"end"`
	ScheduledStart *apiTime     `json:"scheduledStart"`
	Status         string       `json:"status"`
	Type           string       `json:"type"`
	Reason         *string      `json:"reason"`
	OwnerID        string       `json:"ownerId"`
	OwnerName      *string      `json:"ownerName"`
	Speed          float64      `json:"speed"`
	Mode           string       `json:"mode"`
	MaxConnections int          `json:"maxConnections"`
	Filters        *filtersJSON `json:"filters"`
	Progress       progressJSON `json:"progress"`
	Plan           *planJSON    `json:"plan"` // null until prepared
}

type progressJSON struct {
	Statements int64 `json:"statements"`
	Of         int64 `json:"of"`
	Errors     int64 `json:"errors"`
}

type planJSON struct {
	Shards     int     `json:"shards"`
	Sessions   int     `json:"sessions"`
	Statements int64   `json:"statements"`
	Captured   int64   `json:"captured"`
	First      apiTime `json:"first"`
	Epoch      apiTime `json:"epoch"`
}

func replayView(r capture.Replay) replayJSON {
	v := replayJSON{
		ID: r.ID, Name: r.Name, CaptureID: r.CaptureID, EnvID: r.EnvID, Start: timePtr(r.Start), End: timePtr(r.End),
		ScheduledStart: timePtr(r.ScheduledStart), Status: string(r.Status), Type: "REPLAY", Reason: nullable(r.Reason),
		OwnerID: r.OwnerID, OwnerName: nullable(r.OwnerName), Speed: r.Speed, Mode: string(r.Mode),
		MaxConnections: r.MaxConnections, Filters: filtersView(r.Filters),
		Progress: progressJSON{Statements: r.Progress.Statements, Of: r.Progress.Of, Errors: r.Progress.Errors},
	}
	if p := r.Plan; p.Shards > 0 {
		v.Plan = &planJSON{Shards: p.Shards, Sessions: p.Sessions, Statements: p.Statements, Captured: p.Captured,
			First: apiTime(p.First), Epoch: apiTime(p.Epoch)}
	}
	return v
}

// replayFor is rep as a reader sees it: why it could not reach its target names the target's
// address and user, which only the target's members (targetMember) may read.
func replayFor(rep capture.Replay, targetMember bool) replayJSON {
	v := replayView(rep)
	if !targetMember && strings.HasPrefix(rep.Reason, capture.ReplayTargetFailPrefix) {
		brief := strings.TrimSuffix(capture.ReplayTargetFailPrefix, ": ")
		v.Reason = &brief
	}
	return v
}
