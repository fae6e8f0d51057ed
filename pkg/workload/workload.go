// Package workload is the workload file's format: gzip-compressed JSON Lines, one Event per
// row of the general log, as recordings write them and their download, digest and replay read
// them. It knows nothing of where files are kept (package layout) or of captures.
package workload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

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

// Each reads a workload file or fragment (gzip-compressed JSON Lines, possibly several
// gzip members one after another) and calls fn with each event in order, stopping at fn's
// first error.
func Each(r io.Reader, fn func(Event) error) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return fmt.Errorf("read workload: %w", err)
	}
	br := bufio.NewReaderSize(gz, 64<<10)
	var long []byte
	var names interned
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer (a long statement): gather it.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read workload: %w", err)
		}
		if len(line) > 0 {
			if ferr := eachOfLine(line, &names, fn); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// eachOfLine calls fn with the events of one line: one, as the recorder writes them, read by
// parseLine when it can; any other JSON by encoding/json, as a stream.
func eachOfLine(line []byte, names *interned, fn func(Event) error) error {
	var e Event
	if parseLine(line, &e, names) {
		return fn(e)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
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
