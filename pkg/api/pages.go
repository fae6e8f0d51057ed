package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/store"
)

// Paging of lists, an addition to the contract that keeps its shapes: ?limit= bounds a page,
// and a page with more after it says where they are in an RFC 8288 Link header, rel="next",
// whose URL is the request's own with an opaque ?cursor=.
const (
	defaultPage = 100
	maxPage     = 1000
)

var (
	errLimit  = badRequest("limit must be an integer from 1 to 1000")
	errCursor = badRequest("cursor is not one this list gave: start again without it")
)

// page is a list request's ?limit= and ?cursor=, the cursor unwrapped for its list.
type page struct {
	limit int
	after string // "" for the first page
}

// cursors wrap a list's position so that a cursor of one list means nothing to another and
// nobody is tempted to build one: its kind, then the position, in URL-safe base64.
func cursor(kind, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + position))
}

// pageOf reads ?limit= (default 100, 1 to 1000) and ?cursor=, which must be one of kind that
// valid accepts.
func pageOf(v url.Values, kind string, valid func(string) bool) (page, error) {
	p := page{limit: defaultPage}
	if s, ok := v["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > maxPage {
			return p, errLimit
		}
		p.limit = n
	}
	if s, ok := v["cursor"]; ok {
		raw, err := base64.RawURLEncoding.DecodeString(s[0])
		pos, found := strings.CutPrefix(string(raw), kind+":")
		if err != nil || !found || !valid(pos) {
			return p, errCursor
		}
		p.after = pos
	}
	return p, nil
}

// linkNext says where the next page is, if there is one (next is its position): the request's
// path and query with the cursor replaced.
func linkNext(w http.ResponseWriter, r *http.Request, kind, next string) {
	if next == "" {
		return
	}
	q := r.URL.Query()
	q.Set("cursor", cursor(kind, next))
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
}

// maxSearch bounds the list's search text, as names are bounded.
const maxSearch = 128

var (
	errSearch = badRequest(fmt.Sprintf("search must be at most %d characters", maxSearch))
	errWindow = badRequest("from must be before to")
)

// captureQuery reads which captures a list keeps: name (exact), search (part of a name, any
// case), and the window [from, to) of when they are listed (capture.ListedAt), each an
// addition to the contract but name.
func captureQuery(v url.Values) (store.CaptureQuery, error) {
	q := store.CaptureQuery{Name: v.Get("name"), Search: strings.TrimSpace(v.Get("search"))}
	if len(q.Search) > maxSearch {
		return q, errSearch
	}
	for _, t := range []struct {
		param string
		to    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		raw := v.Get(t.param)
		if raw == "" {
			continue
		}
		var at apiTime
		if err := at.UnmarshalJSON([]byte(strconv.Quote(raw))); err != nil {
			return q, badRequest(t.param + ": times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)")
		}
		*t.to = time.Time(at)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, errWindow
	}
	return q, nil
}
