package api

import (
	"net/http"
	"slices"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/report"
)

// compareJSON is GET /api/replays/compare's answer.
type compareJSON struct {
	Base      int64       `json:"base"`
	Candidate int64       `json:"candidate"`
	CaptureID int64       `json:"captureId"`
	Complete  bool        `json:"complete"`
	Summary   summaryJSON `json:"summary"`
	// Additions: statements both replays sent (compared for rowsDiffer), the sketches'
	// relative error, and how many fingerprints the verdict filter matches.
	Compared         int64        `json:"compared"`
	RowsDiffer       int64        `json:"rowsDiffer"`
	RelativeAccuracy float64      `json:"relativeAccuracy"`
	FingerprintCount int          `json:"fingerprintCount"`
	Fingerprints     []changeJSON `json:"fingerprints"`
}

type summaryJSON struct {
	Regressed int `json:"regressed"`
	Improved  int `json:"improved"`
	NewErrors int `json:"newErrors"`
	Diverged  int `json:"diverged"`
	Same      int `json:"same"`
}

type changeJSON struct {
	ID          string   `json:"id"`
	Fingerprint string   `json:"fingerprint"`
	Sample      *string  `json:"sample"`
	Base        sideJSON `json:"base"`
	Candidate   sideJSON `json:"candidate"`
	P95Ratio    *float64 `json:"p95Ratio"` // null when either side has no p95
	RowsDiffer  int64    `json:"rowsDiffer"`
	NewErrors   int64    `json:"newErrors"`
	Verdict     string   `json:"verdict"`
}

type sideJSON struct {
	Count      int64                    `json:"count"`
	Skipped    int64                    `json:"skipped"`
	Errors     int64                    `json:"errors"`
	ErrorCodes map[string]errorCodeJSON `json:"errorCodes"`
	Rows       int64                    `json:"rows"`
	Latency    latencyJSON              `json:"latencyMs"`
}

func sideView(s report.Side, literals bool) sideJSON {
	return sideJSON{Count: s.Count, Skipped: s.Skipped, Errors: s.Errors, ErrorCodes: errorCodesView(s.ErrorCodes, literals), Rows: s.Rows, Latency: latencyView(s.Latency)}
}

func (s *Server) compareReplays(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	v := r.URL.Query()
	baseID, err := positiveID(v.Get("base"), "base")
	if err != nil {
		return err
	}
	candID, err := positiveID(v.Get("candidate"), "candidate")
	if err != nil {
		return err
	}
	q := report.CompareQuery{Sort: report.ByImpact, Verdict: report.Verdict(v.Get("verdict"))}
	if sort, ok := v["sort"]; ok {
		q.Sort = report.CompareSort(sort[0])
		if !slices.Contains(report.CompareSorts, q.Sort) {
			return errCompareSort
		}
	}
	if q.Verdict != "" && !slices.Contains(report.Verdicts, q.Verdict) {
		return errVerdict
	}
	if q.Limit, err = limitOf(v); err != nil {
		return err
	}
	base, err := s.Store.Replay(r.Context(), baseID)
	if err != nil {
		return err
	}
	cand, err := s.Store.Replay(r.Context(), candID)
	if err != nil {
		return err
	}
	reach, err := s.Store.Reach(r.Context(), who.ID, base.EnvID, base.CaptureEnvID, cand.EnvID, cand.CaptureEnvID)
	if err != nil {
		return err
	}
	for _, rep := range []capture.Replay{base, cand} {
		_, target := reach.Member(rep.EnvID)
		_, source := reach.Member(rep.CaptureEnvID)
		if !target && !source {
			return capture.ErrNotMember
		}
	}
	if base.CaptureID != cand.CaptureID {
		return errDifferent
	}
	cat, _, err := s.catalogFor(r, base)
	if err != nil {
		return err
	}
	both, err := report.CompareFiles(r.Context(), s.Files, base, cand, cat)
	if err != nil {
		return err
	}
	c := report.Compare(both.Base, both.Candidate, both.Join, cat, q)
	_, samples := reach.Member(base.CaptureEnvID) // samples and messages hold the capture's literals: its members only
	out := compareJSON{Base: base.ID, Candidate: cand.ID, CaptureID: base.CaptureID,
		Complete: report.Complete(base) && report.Complete(cand),
		Summary: summaryJSON{Regressed: c.Summary.Regressed, Improved: c.Summary.Improved, NewErrors: c.Summary.NewErrors,
			Diverged: c.Summary.Diverged, Same: c.Summary.Same},
		Compared: c.Compared, RowsDiffer: c.RowsDiffer, RelativeAccuracy: report.RelativeAccuracy, FingerprintCount: c.Total,
		Fingerprints: make([]changeJSON, len(c.Fingerprints))}
	for i, ch := range c.Fingerprints {
		row := changeJSON{ID: ch.ID, Fingerprint: ch.Fingerprint, Base: sideView(ch.Base, samples), Candidate: sideView(ch.Candidate, samples),
			RowsDiffer: ch.RowsDiffer, NewErrors: ch.NewErrors, Verdict: string(ch.Verdict)}
		if ch.P95Ratio > 0 {
			row.P95Ratio = &ch.P95Ratio
		}
		if samples {
			row.Sample = &ch.Sample
		}
		out.Fingerprints[i] = row
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
