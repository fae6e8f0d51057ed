package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/lease"
)

// timeLayout is how the API writes times: UTC with milliseconds and a Z, as the contract shows.
const timeLayout = "2006-01-02T15:04:05.000Z"

// apiTime writes a time in timeLayout and reads RFC 3339 or the contract's "2018-05-19 12:00:00"
// (a time without a zone is UTC).
type apiTime time.Time

func timePtr(t *time.Time) *apiTime {
	if t == nil {
		return nil
	}
	a := apiTime(*t)
	return &a
}

func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

var inputLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"}

func (t *apiTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errBadTime
	}
	for _, layout := range inputLayouts {
		if v, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			*t = apiTime(v.UTC())
			return nil
		}
	}
	return errBadTime
}

var errBadTime = errors.New("not a time")

// captureJSON is a capture as the contract shows it.
type captureJSON struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	Start          *apiTime `json:"start"`
	ScheduledStart *apiTime `json:"scheduledStart"`
	ScheduledEnd   *apiTime `json:"scheduledEnd"`
	End            *apiTime `json:"end"`
	Status         string   `json:"status"`
	EnvID          int64    `json:"envId"`
	Type           string   `json:"type"`
	Reason         *string  `json:"reason"`
	OwnerID        string   `json:"ownerId"`
	OwnerName      *string  `json:"ownerName"` // an addition: the owner's user name, null if not known
	// Workload is an addition to the contract: how much the capture has recorded, null until
	// its recording begins.
	Workload *workloadJSON `json:"workload"`
	// Limits and filters, additions too: null when the capture has none.
	MaxStatements *int64       `json:"maxStatements"`
	MaxBytes      *int64       `json:"maxBytes"`
	Filters       *filtersJSON `json:"filters"`
}

type workloadJSON struct {
	Statements int64 `json:"statements"` // collected so far, final once the capture is DONE
	Bytes      int64 `json:"bytes"`      // size of the workload file; 0 until it is written
	Collected  int64 `json:"collected"`  // an addition: compressed bytes collected so far, which bytes adds up to
}

func captureView(c capture.Capture) captureJSON {
	v := captureJSON{
		ID: c.ID, Name: c.Name, Start: timePtr(c.Start), ScheduledStart: timePtr(c.ScheduledStart),
		ScheduledEnd: timePtr(c.ScheduledEnd), End: timePtr(c.End), Status: string(c.Status),
		EnvID: c.EnvID, Type: "CAPTURE", OwnerID: c.OwnerID, OwnerName: nullable(c.OwnerName),
		MaxStatements: int64OrNil(c.Limits.MaxStatements), MaxBytes: int64OrNil(c.Limits.MaxBytes),
		Filters: filtersView(c.Filters),
	}
	if c.Reason != "" {
		v.Reason = &c.Reason
	}
	if c.Workload.Began() {
		v.Workload = &workloadJSON{Statements: c.Workload.Statements, Bytes: c.Workload.Bytes, Collected: c.Workload.Collected}
	}
	return v
}

// environmentJSON is an environment as the API shows it: everything but the password.
type environmentJSON struct {
	ID             int64   `json:"id"`
	Name           string  `json:"envName"`
	OwnerID        string  `json:"ownerId"`
	OwnerName      *string `json:"ownerName"` // the owner's user name, null if not known
	Host           string  `json:"host"`
	Port           int     `json:"port"`
	DBName         string  `json:"dbName"`
	User           string  `json:"user"`
	Instance       *string `json:"instance"`
	ParameterGroup *string `json:"parameterGroup"`
	TLS            string  `json:"tls"` // the mode connections use, the default spelled out
	CACert         *string `json:"caCert"`
	TLSFingerprint *string `json:"tlsFingerprint"` // the certificate pinned on first use; null before
	Target         bool    `json:"target"`         // a replay target only (its checks ask no log privileges)
}

// generalLogJSON is the state of an environment's server's general log lease: the captures
// recording through it, and whether settings are still to be put back, and why not yet.
type generalLogJSON struct {
	Holders        []int64 `json:"holders"`
	RestorePending bool    `json:"restorePending"`
	LastError      *string `json:"lastError"`
}

func generalLogView(l lease.Lease) generalLogJSON {
	holders := l.Holders
	if holders == nil {
		holders = []int64{}
	}
	return generalLogJSON{Holders: holders, RestorePending: l.RestorePending, LastError: nullable(l.LastError)}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func environmentView(e capture.Environment) environmentJSON {
	return environmentJSON{
		ID: e.ID, Name: e.Name, OwnerID: e.OwnerID, OwnerName: nullable(e.OwnerName), Host: e.Host, Port: e.Port, DBName: e.DBName,
		User: e.User, Instance: nullable(e.Instance), ParameterGroup: nullable(e.ParameterGroup),
		TLS: string(dbtls.Effective(dbtls.Mode(e.TLS), e.Host, e.CACert)), CACert: nullable(e.CACert),
		TLSFingerprint: nullable(e.TLSFingerprint), Target: e.Target,
	}
}

// memberJSON is a membership: user is the member's id (their token's sub), name, an
// addition, their user name (their id when it is not known: members added before names were
// kept).
type memberJSON struct {
	User    string `json:"user"`
	Name    string `json:"name"`
	IsAdmin bool   `json:"isAdmin"`
}

func memberView(m capture.Member) memberJSON {
	return memberJSON{User: m.UserID, Name: cmp.Or(m.Name, m.UserID), IsAdmin: m.IsAdmin}
}

// maxBody bounds request bodies; the API's bodies are a few hundred bytes.
const maxBody = 64 << 10

// decodeBody reads a JSON object into v, answering every way it can go wrong with a message
// that names the problem. Unknown fields are ignored: the contract's own sample body carries
// fields ("start", "end") the server sets itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return badRequest("Request body must be a single JSON object")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		filterErr *filtersError
	)
	switch {
	case errors.As(err, &maxErr):
		return errTooLarge
	case errors.As(err, &filterErr):
		return badRequest(filterErr.msg)
	case errors.Is(err, io.EOF):
		return badRequest("Request body is required")
	case errors.Is(err, errBadTime):
		return badRequest("Times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("Request body must be a JSON object")
		}
		// Fields of embedded structs come prefixed with the struct's name; callers know only
		// the JSON key.
		field := typeErr.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		return badRequest(fmt.Sprintf("%s must be %s", field, jsonKind(typeErr.Type.String())))
	}
	return badRequest("Request body is not valid JSON")
}

func jsonKind(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return "a date"
}

// positiveID parses a path or query id.
func positiveID(s, what string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest(what + " must be a positive integer")
	}
	return id, nil
}
