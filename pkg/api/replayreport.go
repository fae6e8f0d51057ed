package api

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/report"
)

// reportJSON is GET /api/replays/{id}/report's answer.
type reportJSON struct {
	ReplayID   int64            `json:"replayId"`
	CaptureID  int64            `json:"captureId"`
	Complete   bool             `json:"complete"`
	Statements reportCountsJSON `json:"statements"`
	Lateness   latenessJSON     `json:"lateness"`
	// Additions: the sketches' relative error, and how many fingerprints there are, of
	// which fingerprints is the first page.
	RelativeAccuracy float64         `json:"relativeAccuracy"`
	FingerprintCount int             `json:"fingerprintCount"`
	Fingerprints     []reportRowJSON `json:"fingerprints"`
}

type reportCountsJSON struct {
	Captured int64 `json:"captured"`
	Replayed int64 `json:"replayed"`
	Skipped  int64 `json:"skipped"`
	Errors   int64 `json:"errors"`
	// NotReplayed, an addition: captured statements the replay has no outcome of (left out
	// by its filters, not reached yet, or after a stop).
	NotReplayed int64 `json:"notReplayed"`
}

type latenessJSON struct {
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

type reportRowJSON struct {
	ID          string                   `json:"id"`
	Fingerprint string                   `json:"fingerprint"`
	Sample      *string                  `json:"sample"` // null unless the caller may read the capture
	Captured    int64                    `json:"captured"`
	Count       int64                    `json:"count"`
	Skipped     int64                    `json:"skipped"`
	Errors      int64                    `json:"errors"`
	ErrorCodes  map[string]errorCodeJSON `json:"errorCodes"`
	Rows        int64                    `json:"rows"`
	Latency     latencyJSON              `json:"latencyMs"`
}

type errorCodeJSON struct {
	Count   int64  `json:"count"`
	Message string `json:"message"`
}

type latencyJSON struct {
	Total float64 `json:"total"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// millis writes a duration in milliseconds to the microsecond.
func millis(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

func latencyView(l report.Latency) latencyJSON {
	return latencyJSON{Total: millis(l.Total), P50: millis(l.P50), P95: millis(l.P95), P99: millis(l.P99), Max: millis(l.Max)}
}

// errorCodesView is codes as the API answers them. A server's message quotes what the
// statement held (Duplicate entry '...', syntax near '...'), the capture's literals as a sample
// does: without literals, what each message quotes is '?'.
func errorCodesView(codes map[uint16]report.ErrorCode, literals bool) map[string]errorCodeJSON {
	out := make(map[string]errorCodeJSON, len(codes))
	for errno, c := range codes {
		msg := c.Message
		if !literals {
			msg = maskQuoted(msg)
		}
		out[strconv.Itoa(int(errno))] = errorCodeJSON{Count: c.Count, Message: msg}
	}
	return out
}

// maskQuoted replaces what msg quotes ('...', "...", `...`) with ?; an unclosed quote masks
// the rest.
func maskQuoted(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		q := msg[i]
		b.WriteByte(q)
		if q != '\'' && q != '"' && q != '`' {
			continue
		}
		end := strings.IndexByte(msg[i+1:], q)
		b.WriteByte('?')
		if end < 0 {
			return b.String()
		}
		b.WriteByte(q)
		i += end + 1
	}
	return b.String()
}

var (
	errReportSort  = badRequest("sort must be one of " + joined(report.Sorts))
	errCompareSort = badRequest("sort must be one of " + joined(report.CompareSorts))
	errVerdict     = badRequest("verdict must be one of " + joined(report.Verdicts))
	errDifferent   = badRequest("Replays of different captures cannot be compared")
)

func joined[S ~string](list []S) string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// limitOf reads ?limit= (default 100, 1 to 1000).
func limitOf(v url.Values) (int, error) {
	if s, ok := v["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > report.MaxLimit {
			return 0, errLimit
		}
		return n, nil
	}
	return report.DefaultLimit, nil
}

// catalogFor names a replay's rows from its capture's digest, and says how many statements the
// capture recorded; a capture whose digest is gone (deleted, or its files) leaves them named by
// id alone.
func (s *Server) catalogFor(r *http.Request, rep capture.Replay) (report.Catalog, int64, error) {
	c, err := s.Store.Capture(r.Context(), rep.CaptureID)
	if errors.Is(err, capture.ErrCaptureNotFound) {
		return report.Catalog{}, rep.Plan.Captured, nil
	}
	if err != nil {
		return nil, 0, err
	}
	captured := rep.Plan.Captured
	if captured == 0 { // not prepared yet
		captured = c.Workload.Statements
	}
	d, _, err := digest.Load(r.Context(), s.Files, c)
	if err != nil {
		s.Log.WarnContext(r.Context(), "replay report without the capture's digest", "replay_id", rep.ID, "error", awserr.Detail(err))
		return report.Catalog{}, captured, nil
	}
	return report.CatalogOf(d), captured, nil
}

func (s *Server) replayReport(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	v := r.URL.Query()
	q := report.Query{Sort: report.ByTotal}
	if sort, ok := v["sort"]; ok {
		q.Sort = report.Sort(sort[0])
		if !slices.Contains(report.Sorts, q.Sort) {
			return errReportSort
		}
	}
	limit, err := limitOf(v)
	if err != nil {
		return err
	}
	q.Limit = limit
	rep, reach, err := s.loadReplay(r, who)
	if err != nil {
		return err
	}
	cat, captured, err := s.catalogFor(r, rep)
	if err != nil {
		return err
	}
	l, err := report.Load(r.Context(), s.Files, rep, cat)
	if err != nil {
		return err
	}
	if l.Unkept != nil {
		s.Log.WarnContext(r.Context(), "replay report state not kept", "replay_id", rep.ID, "error", awserr.Detail(l.Unkept))
	}
	_, samples := reach.Member(rep.CaptureEnvID) // samples and messages hold the capture's literals: its members only
	rp := l.State.Report(cat, q)
	st := rp.Statements
	out := reportJSON{ReplayID: rep.ID, CaptureID: rep.CaptureID, Complete: l.Complete,
		Statements: reportCountsJSON{Captured: captured, Replayed: st.Replayed, Skipped: st.Skipped, Errors: st.Errors,
			NotReplayed: max(captured-st.Replayed-st.Skipped, 0)},
		Lateness:         latenessJSON{P50: millis(rp.Lateness.P50), P99: millis(rp.Lateness.P99), Max: millis(rp.Lateness.Max)},
		RelativeAccuracy: report.RelativeAccuracy, FingerprintCount: rp.Total, Fingerprints: make([]reportRowJSON, len(rp.Fingerprints))}
	for i, f := range rp.Fingerprints {
		row := reportRowJSON{ID: f.ID, Fingerprint: f.Fingerprint, Captured: f.Captured, Count: f.Count, Skipped: f.Skipped,
			Errors: f.Errors, ErrorCodes: errorCodesView(f.ErrorCodes, samples), Rows: f.Rows, Latency: latencyView(f.Latency)}
		if samples {
			row.Sample = &f.Sample
		}
		out.Fingerprints[i] = row
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
