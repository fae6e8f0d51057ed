package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
)

// digestJSON is GET /api/captures/{id}/digest's answer.
type digestJSON struct {
	CaptureID    int64             `json:"captureId"`
	Statements   int64             `json:"statements"`
	Sessions     int               `json:"sessions"`
	From         *microTime        `json:"from"`
	To           *microTime        `json:"to"`
	Complete     bool              `json:"complete"`
	Fingerprints []fingerprintJSON `json:"fingerprints"`
	// FingerprintCount, an addition, is how many fingerprints the query matches, of which
	// fingerprints is a page (the Link header says where the next is).
	FingerprintCount int          `json:"fingerprintCount"`
	Timeline         timelineJSON `json:"timeline"`
}

type fingerprintJSON struct {
	ID          string           `json:"id"`
	Fingerprint string           `json:"fingerprint"`
	Count       int64            `json:"count"`
	Share       float64          `json:"share"`
	FirstSeen   microTime        `json:"firstSeen"`
	LastSeen    microTime        `json:"lastSeen"`
	Users       map[string]int64 `json:"users"`
	Databases   map[string]int64 `json:"databases"`
	Sample      string           `json:"sample"`
}

type timelineJSON struct {
	BucketSeconds int64       `json:"bucketSeconds"`
	Points        []pointJSON `json:"points"`
}

type pointJSON struct {
	Time       string `json:"time"` // the bucket's start, UTC to the second
	Statements int64  `json:"statements"`
}

// microTime writes a time in UTC to the microsecond, as the log records statements.
type microTime time.Time

func (t microTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000000Z") + `"`), nil
}

var (
	errNoDigest = &capture.Error{Kind: capture.NotFound, Message: "The capture's recorded files are gone, so it has no digest"}
	errSort     = badRequest("sort must be one of " + sortNames())
)

func sortNames() string {
	names := make([]string, len(digest.Sorts))
	for i, s := range digest.Sorts {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// digestQuery reads ?limit=, ?cursor=, ?sort=, ?user= and ?database= (or ?db=). A cursor
// holds the sort it was made for and the rows before its page.
func digestQuery(v url.Values) (digest.Query, error) {
	q := digest.Query{User: v.Get("user"), DB: v.Get("db"), Sort: digest.ByCount}
	if v.Has("database") {
		q.DB = v.Get("database")
	}
	if s, ok := v["sort"]; ok {
		q.Sort = digest.Sort(s[0])
		if !slices.Contains(digest.Sorts, q.Sort) {
			return q, errSort
		}
	}
	pg, err := pageOf(v, "digest", func(p string) bool {
		sort, offset, ok := strings.Cut(p, "/")
		n, err := strconv.Atoi(offset)
		return ok && sort == string(q.Sort) && err == nil && n > 0
	})
	if err != nil {
		return q, err
	}
	q.Limit = pg.limit
	if _, offset, ok := strings.Cut(pg.after, "/"); ok {
		q.Offset, _ = strconv.Atoi(offset)
	}
	return q, nil
}

// putter stores a file; the function that serves digests may keep one it had to compute.
type putter interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
}

func (s *Server) captureDigest(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	q, err := digestQuery(r.URL.Query())
	if err != nil {
		return err
	}
	c, _, err := s.loadCapture(r, who)
	if err != nil {
		return err
	}
	dg, stored, err := digest.Load(r.Context(), s.Files, c)
	if errors.Is(err, blob.ErrNotFound) {
		return errNoDigest
	}
	if err != nil {
		return err
	}
	if !stored && c.Workload.Recorded() {
		// Recorded before digests were kept: keep this one, so it is computed only once.
		if p, ok := s.Files.(putter); ok {
			if err := digest.Save(r.Context(), p, layout.DigestKey(c), dg); err != nil {
				s.Log.WarnContext(r.Context(), "digest not kept", "capture_id", c.ID, "error", err.Error())
			}
		}
	}
	out := digestJSON{CaptureID: c.ID, Complete: !c.Status.Live()}
	if c.Start != nil {
		from, to := *c.Start, *c.Start
		switch {
		case c.End != nil:
			to = *c.End
		case c.Workload.Watermark.After(to):
			to = c.Workload.Watermark
		}
		q.From, q.To = from, to
		out.From, out.To = (*microTime)(&from), (*microTime)(&to)
	}
	rep := dg.Report(q)
	out.Statements, out.Sessions, out.FingerprintCount = rep.Statements, rep.Sessions, rep.Total
	if end := q.Offset + len(rep.Fingerprints); end < rep.Total {
		linkNext(w, r, "digest", fmt.Sprintf("%s/%d", q.Sort, end))
	}
	out.Fingerprints = make([]fingerprintJSON, len(rep.Fingerprints))
	for i, f := range rep.Fingerprints {
		out.Fingerprints[i] = fingerprintJSON{ID: f.ID, Fingerprint: f.Fingerprint, Count: f.Count, Share: f.Share,
			FirstSeen: microTime(f.FirstSeen), LastSeen: microTime(f.LastSeen), Users: f.Users, Databases: f.Databases, Sample: f.Sample}
	}
	out.Timeline = timelineJSON{BucketSeconds: rep.Timeline.BucketSeconds, Points: make([]pointJSON, len(rep.Timeline.Points))}
	for i, p := range rep.Timeline.Points {
		// A string, not a type with MarshalJSON: encoding/json checks every such value's
		// output again, which for up to 1,000 points was most of the request's time.
		out.Timeline.Points[i] = pointJSON{Time: p.Time.UTC().Format("2006-01-02T15:04:05Z"), Statements: p.Statements}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
