// Package outcome is the format of a replay's per-statement results: what each captured
// statement did on the target (when it started, how late, how long it took, the rows it
// returned or changed, the error it raised). A replay's shards write them (package replay);
// the report and the compare read them (package report). It knows nothing of where the files
// are kept.
//
// A file is the magic "MYCRTO1\n" and then records, each a run of unsigned varints (zig-zag
// for signed values) with the error message inline only when there is an error: about 20
// bytes a statement, read at well over a million records a second.
package outcome

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Record is what one captured statement did on the target. Session and Seq name the statement
// in the capture, before any filter or read-only skip, so two replays of one capture name the
// same statement alike and can be compared statement by statement.
type Record struct {
	Session  uint32        // the session's ordinal in the capture, from 0, by its first row
	Seq      uint32        // the statement's ordinal in its session, from 0, counting every statement row
	Digest   uint64        // the fingerprint's id (digest.ID) as a number: see ParseDigest
	Start    time.Duration // when it was sent, from the replay's shared start (epoch)
	Lateness time.Duration // how far behind its schedule it was sent; 0 when on time
	Latency  time.Duration // from sending it to its last result row or its error
	Rows     int64         // rows returned, or affected by a write
	Errno    uint16        // MySQL's error number; 0 when it succeeded
	Message  string        // the error's message (at most MaxMessage bytes); "" when it succeeded
	Skipped  bool          // not sent: read-only mode left out a statement that could write
}

// MaxMessage bounds the error message a record keeps.
const MaxMessage = 512

const magic = "MYCRTO1\n"

// ErrFormat is returned for input that is not an outcome file.
var ErrFormat = errors.New("not an outcome file")

// ParseDigest reads a fingerprint id as digest.ID writes it (16 hex digits).
func ParseDigest(id string) (uint64, error) {
	v, err := strconv.ParseUint(id, 16, 64)
	if err != nil || len(id) != 16 {
		return 0, fmt.Errorf("fingerprint id %q: not 16 hex digits", id)
	}
	return v, nil
}

// DigestID writes a fingerprint id as digest.ID does: 16 upper-case hex digits.
func DigestID(d uint64) string { return fmt.Sprintf("%016X", d) }

// Writer writes records to a file. Close (or Flush) before the file is stored.
type Writer struct {
	w       *bufio.Writer
	started bool
	buf     []byte
}

// NewWriter returns a writer of an outcome file to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write appends one record.
func (w *Writer) Write(r *Record) error {
	if !w.started {
		w.started = true
		if _, err := w.w.WriteString(magic); err != nil {
			return err
		}
	}
	b := w.buf[:0]
	flags := uint64(0)
	if r.Skipped {
		flags |= 1
	}
	if r.Errno != 0 {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendUvarint(b, uint64(r.Session))
	b = binary.AppendUvarint(b, uint64(r.Seq))
	b = binary.LittleEndian.AppendUint64(b, r.Digest)
	b = binary.AppendVarint(b, int64(r.Start))
	b = binary.AppendVarint(b, int64(r.Lateness))
	b = binary.AppendVarint(b, int64(r.Latency))
	b = binary.AppendVarint(b, r.Rows)
	if r.Errno != 0 {
		msg := r.Message
		if len(msg) > MaxMessage {
			msg = msg[:MaxMessage]
		}
		b = binary.AppendUvarint(b, uint64(r.Errno))
		b = binary.AppendUvarint(b, uint64(len(msg)))
		b = append(b, msg...)
	}
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes what is buffered; a file with no records is the magic alone.
func (w *Writer) Flush() error {
	if !w.started {
		w.started = true
		if _, err := w.w.WriteString(magic); err != nil {
			return err
		}
	}
	return w.w.Flush()
}

// Each reads an outcome file and calls fn with each record in order, stopping at fn's first
// error. The record passed is reused for the next one: copy what must outlive the call. An
// error message repeated by consecutive records of a file is one string.
func Each(r io.Reader, fn func(*Record) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return ErrFormat
	}
	var rec Record
	var msg []byte
	for {
		flags, err := binary.ReadUvarint(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if err := read(br, flags, &rec, &msg); err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
}

// decoder reads one record's fields, keeping the first error so the fields read as a list.
type decoder struct {
	br  *bufio.Reader
	err error
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.br)
	d.err = err
	return v
}

func (d *decoder) s() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d.br)
	d.err = err
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > MaxMessage {
		d.err = errors.New("message too long")
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.br, b)
	return b
}

func read(br *bufio.Reader, flags uint64, rec *Record, msg *[]byte) error {
	d := decoder{br: br}
	rec.Skipped = flags&1 != 0
	rec.Session = uint32(d.u())
	rec.Seq = uint32(d.u())
	var dg [8]byte
	if d.err == nil {
		_, d.err = io.ReadFull(br, dg[:])
	}
	rec.Digest = binary.LittleEndian.Uint64(dg[:])
	rec.Start = time.Duration(d.s())
	rec.Lateness = time.Duration(d.s())
	rec.Latency = time.Duration(d.s())
	rec.Rows = d.s()
	rec.Errno, rec.Message = 0, ""
	if flags&2 != 0 {
		rec.Errno = uint16(d.u())
		b := d.bytes(d.u())
		if d.err == nil {
			if string(b) != string(*msg) {
				*msg = b
				rec.Message = string(b)
			} else {
				rec.Message = string(*msg)
			}
		}
	}
	if errors.Is(d.err, io.EOF) {
		d.err = io.ErrUnexpectedEOF
	}
	return d.err
}
