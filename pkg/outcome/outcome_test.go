package outcome_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/outcome"
)

func TestRoundTrip(t *testing.T) {
	in := []outcome.Record{
		{Session: 0, Seq: 0, Digest: 0x558CAEF5F387E929, Start: 3 * time.Millisecond, Lateness: 40 * time.Microsecond, Latency: 180 * time.Microsecond, Rows: 1},
		{Session: 7, Seq: 12, Digest: 1, Start: -time.Millisecond, Latency: time.Second, Rows: 0, Errno: 1054, Message: "Unknown column 'k' in 'field list'"},
		{Session: 7, Seq: 13, Digest: 2, Skipped: true},
		{Session: 1 << 31, Seq: 1<<32 - 1, Digest: 1<<64 - 1, Errno: 1146, Message: strings.Repeat("x", outcome.MaxMessage+100)},
	}
	var buf bytes.Buffer
	w := outcome.NewWriter(&buf)
	for i := range in {
		if err := w.Write(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	in[3].Message = in[3].Message[:outcome.MaxMessage]
	var got []outcome.Record
	if err := outcome.Each(&buf, func(r *outcome.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d records, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], in[i])
		}
	}
}

func TestEmptyFile(t *testing.T) {
	var buf bytes.Buffer
	if err := outcome.NewWriter(&buf).Flush(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := outcome.Each(&buf, func(*outcome.Record) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("empty file: %d records, %v", n, err)
	}
}

func TestRejects(t *testing.T) {
	var buf bytes.Buffer
	w := outcome.NewWriter(&buf)
	_ = w.Write(&outcome.Record{Errno: 1, Message: "boom"})
	_ = w.Flush()
	whole := buf.Bytes()
	for name, in := range map[string][]byte{
		"not ours":  []byte("hello world"),
		"empty":     nil,
		"truncated": whole[:len(whole)-2],
	} {
		t.Run(name, func(t *testing.T) {
			err := outcome.Each(bytes.NewReader(in), func(*outcome.Record) error { return nil })
			if !errors.Is(err, outcome.ErrFormat) {
				t.Fatalf("got %v, want ErrFormat", err)
			}
		})
	}
}

func TestDigestID(t *testing.T) {
	d, err := outcome.ParseDigest("558CAEF5F387E929")
	if err != nil || outcome.DigestID(d) != "558CAEF5F387E929" {
		t.Fatalf("round trip: %x %v", d, err)
	}
	for _, bad := range []string{"", "558CAEF5F387E92", "XYZ", "558CAEF5F387E9290"} {
		if _, err := outcome.ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) accepted", bad)
		}
	}
}

func BenchmarkEach(b *testing.B) {
	var buf bytes.Buffer
	w := outcome.NewWriter(&buf)
	const n = 100_000
	for i := 0; i < n; i++ {
		_ = w.Write(&outcome.Record{Session: uint32(i % 64), Seq: uint32(i / 64), Digest: uint64(i % 100), Start: time.Duration(i) * time.Microsecond, Latency: 200 * time.Microsecond, Rows: 1})
	}
	_ = w.Flush()
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		if err := outcome.Each(bytes.NewReader(buf.Bytes()), func(*outcome.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
