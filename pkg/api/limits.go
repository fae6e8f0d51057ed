package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/mycrt/captures/pkg/capture"
)

// filtersJSON is a capture's filters as the API takes and shows them.
type filtersJSON struct {
	Users     *nameFilterJSON `json:"users,omitempty"`
	Databases *nameFilterJSON `json:"databases,omitempty"`
}

type nameFilterJSON struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// filtersShape is what a bad filters value is told to look like.
const filtersShape = `filters must look like {"users": {"include": [names], "exclude": [names]}, "databases": {"include": [...], "exclude": [...]}}`

// filtersError is a filters value that is not of that shape.
type filtersError struct{ msg string }

func (e *filtersError) Error() string { return e.msg }

// UnmarshalJSON reads filters strictly: an unknown key is an error, not ignored, since a
// misspelt filter would silently record everything.
func (f *filtersJSON) UnmarshalJSON(b []byte) error {
	type plain filtersJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		msg := filtersShape
		if _, key, ok := strings.Cut(err.Error(), "unknown field "); ok {
			msg = "filters: unknown key " + key + ": " + filtersShape
		}
		return &filtersError{msg}
	}
	*f = filtersJSON(p)
	return nil
}

func (f *filtersJSON) filters() capture.Filters {
	var out capture.Filters
	if f == nil {
		return out
	}
	if f.Users != nil {
		out.Users = capture.NameFilter{Include: f.Users.Include, Exclude: f.Users.Exclude}
	}
	if f.Databases != nil {
		out.Databases = capture.NameFilter{Include: f.Databases.Include, Exclude: f.Databases.Exclude}
	}
	return out
}

func filtersView(f capture.Filters) *filtersJSON {
	if f.IsZero() {
		return nil
	}
	view := func(n capture.NameFilter) *nameFilterJSON {
		if len(n.Include) == 0 && len(n.Exclude) == 0 {
			return nil
		}
		return &nameFilterJSON{Include: n.Include, Exclude: n.Exclude}
	}
	return &filtersJSON{Users: view(f.Users), Databases: view(f.Databases)}
}

// limitsBody is the part of a create or edit body that limits and filters a capture.
type limitsBody struct {
	MaxStatements *int64       `json:"maxStatements"`
	MaxBytes      *int64       `json:"maxBytes"`
	Filters       *filtersJSON `json:"filters"`
}

func (b limitsBody) given() bool {
	return b.MaxStatements != nil || b.MaxBytes != nil || b.Filters != nil
}

// limits reads the limits; a limit given must be positive, and maxBytes at least
// capture.MinMaxBytes (absent or null means none).
func (b limitsBody) limits() (capture.Limits, error) {
	var l capture.Limits
	if b.MaxStatements != nil {
		if *b.MaxStatements <= 0 {
			return l, capture.ErrMaxStatements
		}
		l.MaxStatements = *b.MaxStatements
	}
	if b.MaxBytes != nil {
		if *b.MaxBytes <= 0 {
			return l, capture.ErrMaxBytes
		}
		l.MaxBytes = *b.MaxBytes
	}
	return l, l.Validate()
}

func int64OrNil(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}
