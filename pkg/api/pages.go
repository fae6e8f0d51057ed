package api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
