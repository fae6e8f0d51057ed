package workload

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestEachReadsWhatEncodingJSONReads: every line, whether parseLine takes it or leaves it to
// encoding/json, reads as json.Unmarshal reads it.
func TestEachReadsWhatEncodingJSONReads(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC)
	events := []Event{
		{Time: t0, Thread: 7, User: "app", Host: "10.0.0.1", Command: "Query", DB: "shop", SQL: "SELECT 1"},
		{Time: t0.Truncate(time.Second), Thread: 1<<63 + 5, User: "", Host: "", Command: "Connect", DB: "", SQL: "app@h on shop using TCP/IP"},
		{Time: t0.Add(789), Thread: 2, User: "ünï", Host: "h", Command: "Query", SQL: "SELECT '\"quoted\"', 'tab\there', 'line\nbreak', '<&>', '\\\\', 'é漢😀'"},
		{Time: t0, Thread: 3, Command: "Query", SQL: "SELECT '" + strings.Repeat("x", 200_000) + "'"}, // longer than a buffer
		{Time: t0, Thread: 4, Command: "Query", SQL: "SELECT '\xff\xfe'"},                             // invalid UTF-8: json writes U+FFFD
		{Time: time.Date(2026, 2, 28, 23, 59, 59, 1, time.UTC), Thread: 5, Command: "Quit"},
	}
	var file bytes.Buffer
	gz := gzip.NewWriter(&file)
	enc := json.NewEncoder(gz)
	var want []Event
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	// Lines the fast path must leave alone: another zone, another field order, an extra
	// field, two events on one line.
	for _, line := range []string{
		`{"time":"2026-12-01T12:00:00.5+02:00","thread":9,"user":"u","host":"h","command":"Query","db":"d","sql":"SELECT 2"}`,
		`{"thread":10,"time":"2026-12-01T10:00:00Z","user":"u","host":"h","command":"Query","db":"d","sql":"SELECT 3"}`,
		`{"time":"2026-12-01T10:00:00Z","thread":11,"user":"u","host":"h","command":"Query","db":"d","sql":"SELECT 4","x":1}`,
		`{"time":"2026-12-01T10:00:00Z","thread":12,"sql":"a"} {"time":"2026-12-01T10:00:01Z","thread":13,"sql":"b"}`,
	} {
		gz.Write([]byte(line + "\n"))
	}
	gz.Close()
	// What encoding/json reads of the same file.
	r, _ := gzip.NewReader(bytes.NewReader(file.Bytes()))
	dec := json.NewDecoder(r)
	for {
		var e Event
		if err := dec.Decode(&e); err != nil {
			break
		}
		want = append(want, e)
	}
	var got []Event
	if err := Each(bytes.NewReader(file.Bytes()), func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != len(events)+5 {
		t.Fatalf("read %d events, encoding/json %d, written %d", len(got), len(want), len(events)+5)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) || !got[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d: %+v, encoding/json reads %+v", i, trim(got[i]), trim(want[i]))
		}
	}
}

func trim(e Event) Event {
	if len(e.SQL) > 80 {
		e.SQL = e.SQL[:80] + "…"
	}
	return e
}
