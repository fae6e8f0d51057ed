package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Workload is how far a capture's recording has got. The general log is collected in
// fragments, each covering the log from the watermark up to a later time; a fragment counts
// only once the watermark has moved past it, so a collection that dies half way is redone.
type Workload struct {
	Watermark  time.Time // database server time (UTC) up to which the log has been collected
	Begin      time.Time // database server time recording began: the window holds rows after it
	Rotation   int       // the last of its server's collections (capture.Collector) it has had
	Fragments  int       // fragments written and accounted for
	Statements int64     // statements (queries and executions) in them
	Collected  int64     // bytes of those fragments, which the workload file adds up to
	Bytes      int64     // size of the finished workload file; 0 until it is written
}

// WorkloadMove is one capture's progress in a collection of its server: from what it was to
// what the collection made it.
type WorkloadMove struct {
	ID       int64
	From, To Workload
}

// Event is one line of a workload file: one row of the general log. The file is gzip-compressed
// JSON Lines, one Event per line in the order the server logged them (each session's in the order it ran them).
type Event struct {
	Time    time.Time `json:"time"`    // when the server received it, UTC, to the microsecond
	Thread  uint64    `json:"thread"`  // the server's connection id: one client session
	User    string    `json:"user"`    // the account, as user_host names it
	Host    string    `json:"host"`    // the client's host, as user_host names it
	Command string    `json:"command"` // Connect, Query, Execute, Init DB, Quit, ...
	DB      string    `json:"db"`      // the session's current database as far as the log tells; "" if it does not
	SQL     string    `json:"sql"`     // the statement, or the command's argument
}

// IsStatement reports whether the event ran SQL a replay runs again: what Workload.Statements
// counts.
func (e Event) IsStatement() bool { return e.Command == "Query" || e.Command == "Execute" }

// EachEvent reads a workload file or fragment (gzip-compressed JSON Lines, possibly several
// gzip members one after another) and calls fn with each event in order, stopping at fn's
// first error.
func EachEvent(r io.Reader, fn func(Event) error) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return fmt.Errorf("read workload: %w", err)
	}
	dec := json.NewDecoder(gz)
	for {
		var e Event
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read workload: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// Began reports whether the capture's recording began: its recorder signed in to the
// database with the environment's credentials, turned the log on and read the server's clock
// (the watermark). Nothing about a database is shown for a capture that never got that far,
// since naming a database proves nothing about being allowed into it.
func (w Workload) Began() bool { return !w.Watermark.IsZero() }

// Recorded reports whether the capture's workload file has been written.
func (w Workload) Recorded() bool { return w.Bytes > 0 }

// EnvFilesPrefix holds every file of an environment's captures.
func EnvFilesPrefix(envID int64) string { return fmt.Sprintf("env-%d/", envID) }

// Files of a capture. Every file of a capture lives under its FilesPrefix, named by
// environment and capture, so deleting a capture's logs is one prefix delete.
func FilesPrefix(c Capture) string { return EnvFilesPrefix(c.EnvID) + fmt.Sprintf("capture-%d/", c.ID) }

// FragmentsPrefix holds the workload's fragments until its file is written.
func FragmentsPrefix(c Capture) string { return FilesPrefix(c) + "fragments/" }

// FragmentKey names the nth workload fragment.
func FragmentKey(c Capture, n int) string {
	return fmt.Sprintf("%s%06d.jsonl.gz", FragmentsPrefix(c), n)
}

// WorkloadKey names the finished workload file.
func WorkloadKey(c Capture) string { return FilesPrefix(c) + "workload.jsonl.gz" }

// DigestKey names the capture's final digest (see package digest), written with the workload.
func DigestKey(c Capture) string { return FilesPrefix(c) + digestName }

// DigestKeyPattern matches every capture's DigestKey, for grants.
const DigestKeyPattern = "env-*/capture-*/" + digestName

const digestName = "digest.json"

// DigestStateKey names the digest as of the nth fragment, kept beside it while the capture
// records, so each collection goes on from the last one's.
func DigestStateKey(c Capture, n int) string {
	return fmt.Sprintf("%s%06d.digest.json", FragmentsPrefix(c), n)
}

// MetricsKey names the stored metrics of the capture's window.
func MetricsKey(c Capture) string { return FilesPrefix(c) + "metrics.json" }

// OnRDS reports whether the environment is an RDS instance, whose metrics CloudWatch keeps.
func (e Environment) OnRDS() bool { return e.Instance != "" }
