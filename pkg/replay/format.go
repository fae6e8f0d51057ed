package replay

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
)

// A shard file is gzip (Huffman coding only) around: the magic "MYCRTS1\n"; its sessions (count,
// then each one's ordinal in the capture and its step count); its databases (count, then
// each name); then its steps in time order, each a run of unsigned varints: the session's
// index in the shard, kind and flags, the offset from the step before (µs, never negative),
// the database's index, and for a statement its sequence number, digest (8 bytes) and text.

const shardMagic = "MYCRTS1\n"

// ErrShardFormat is returned for input that is not a shard file.
var ErrShardFormat = errors.New("not a shard file")

// kind is what a step does.
type kind uint8

const (
	kindStatement kind = iota // a Query or Execute row: one statement, with an outcome
	kindConnect               // Connect: the session opens its connection (in the step's database)
	kindInitDB                // Init DB or Change user: the session's database becomes the step's
	kindQuit                  // Quit: the session closes its connection
)

// step is one thing a session does, as a shard holds it.
type step struct {
	session uint32 // index in the shard's sessions
	seq     uint32 // the statement's ordinal in its session (see outcome.Record.Seq)
	kind    kind
	flags   flags
	offset  int64  // µs from the plan's First: when it starts at speed 1
	txnEnd  int64  // with flagTxnStart: the offset of the step that ends the transaction
	db      uint32 // index in the shard's databases; 0 is "" (not known)
	digest  uint64
	sql     string
	text    []byte // as read, before sql is set (materialize): valid until the next read
}

// materialize sets s.sql from the text read, once the step is kept beyond the next read.
func (s *step) materialize() {
	if s.sql == "" && len(s.text) > 0 {
		s.sql = string(s.text)
	}
	s.text = nil
}

// shardSession is one session of a shard.
type shardSession struct {
	Ordinal uint32 // outcome.Record.Session
	Steps   int    // its steps in the shard
}

// shardHead is what a shard file holds before its steps.
type shardHead struct {
	Sessions []shardSession
	DBs      []string // DBs[0] is ""
}

// shardWriter writes a shard file.
type shardWriter struct {
	gz   *gzip.Writer
	w    *bufio.Writer
	buf  []byte
	last int64
}

func newShardWriter(w io.Writer, head shardHead) (*shardWriter, error) {
	// Huffman coding alone: a third of the text's size at several times BestSpeed's rate.
	gz, _ := gzip.NewWriterLevel(w, gzip.HuffmanOnly)
	sw := &shardWriter{gz: gz, w: bufio.NewWriterSize(gz, 64<<10)}
	b := append([]byte(nil), shardMagic...)
	b = binary.AppendUvarint(b, uint64(len(head.Sessions)))
	for _, s := range head.Sessions {
		b = binary.AppendUvarint(b, uint64(s.Ordinal))
		b = binary.AppendUvarint(b, uint64(s.Steps))
	}
	b = binary.AppendUvarint(b, uint64(len(head.DBs)))
	for _, db := range head.DBs {
		b = binary.AppendUvarint(b, uint64(len(db)))
		b = append(b, db...)
	}
	_, err := sw.w.Write(b)
	return sw, err
}

func (sw *shardWriter) write(s *step) error {
	if s.offset < sw.last {
		return fmt.Errorf("shard step at %d µs after one at %d µs", s.offset, sw.last)
	}
	b := sw.buf[:0]
	b = binary.AppendUvarint(b, uint64(s.session))
	b = binary.AppendUvarint(b, uint64(s.kind)|uint64(s.flags)<<2)
	b = binary.AppendUvarint(b, uint64(s.offset-sw.last))
	b = binary.AppendUvarint(b, uint64(s.db))
	if s.kind == kindStatement {
		b = binary.AppendUvarint(b, uint64(s.seq))
		b = binary.LittleEndian.AppendUint64(b, s.digest)
		if s.sql == "" { // not materialized: the text as read
			b = binary.AppendUvarint(b, uint64(len(s.text)))
			b = append(b, s.text...)
		} else {
			b = binary.AppendUvarint(b, uint64(len(s.sql)))
			b = append(b, s.sql...)
		}
		if s.flags&flagTxnStart != 0 {
			b = binary.AppendUvarint(b, uint64(max(0, s.txnEnd-s.offset)))
		}
	}
	sw.last, sw.buf = s.offset, b
	_, err := sw.w.Write(b)
	return err
}

func (sw *shardWriter) close() error {
	if err := sw.w.Flush(); err != nil {
		return err
	}
	return sw.gz.Close()
}

// shardReader reads a shard file's steps in order.
type shardReader struct {
	br   *bufio.Reader
	head shardHead
	last int64
	text []byte       // the last statement's text, reused
	read atomic.Int64 // steps read so far (what a successor reads again to get here)
}

// maxSQL bounds a statement a shard may hold (MySQL's max_allowed_packet at most).
const maxSQL = 1 << 30

func newShardReader(r io.Reader) (*shardReader, error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrShardFormat, err)
	}
	br := bufio.NewReaderSize(gz, 64<<10)
	magic := make([]byte, len(shardMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != shardMagic {
		return nil, ErrShardFormat
	}
	sr := &shardReader{br: br}
	d := decoder{br: br}
	n := d.u()
	if n > 1<<24 {
		return nil, fmt.Errorf("%w: %d sessions", ErrShardFormat, n)
	}
	sr.head.Sessions = make([]shardSession, 0, n)
	for range n {
		sr.head.Sessions = append(sr.head.Sessions, shardSession{Ordinal: uint32(d.u()), Steps: int(d.u())})
	}
	n = d.u()
	if n > 1<<24 || d.err != nil {
		return nil, fmt.Errorf("%w: %d databases %v", ErrShardFormat, n, d.err)
	}
	for range n {
		sr.head.DBs = append(sr.head.DBs, string(d.bytes(d.u(), 1<<16)))
	}
	if d.err != nil || len(sr.head.DBs) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrShardFormat, d.err)
	}
	return sr, nil
}

// next reads the next step into s, its statement's text in s.text (s.sql empty: see
// materialize); io.EOF after the last.
func (sr *shardReader) next(s *step) error {
	session, err := binary.ReadUvarint(sr.br)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	d := decoder{br: sr.br, err: err}
	kf := d.u()
	s.session, s.kind, s.flags = uint32(session), kind(kf&3), flags(kf>>2)
	sr.last += int64(d.u())
	s.offset = sr.last
	sr.read.Add(1)
	s.db = uint32(d.u())
	s.seq, s.digest, s.sql, s.text, s.txnEnd = 0, 0, "", nil, 0
	if s.kind == kindStatement {
		s.seq = uint32(d.u())
		var dg [8]byte
		if d.err == nil {
			_, d.err = io.ReadFull(sr.br, dg[:])
		}
		s.digest = binary.LittleEndian.Uint64(dg[:])
		sr.text = d.into(sr.text[:0], d.u(), maxSQL)
		s.text = sr.text
		if s.flags&flagTxnStart != 0 {
			s.txnEnd = s.offset + int64(d.u())
		}
	}
	if d.err == nil && (int(s.session) >= len(sr.head.Sessions) || int(s.db) >= len(sr.head.DBs)) {
		d.err = errors.New("index out of range")
	}
	if d.err != nil {
		if errors.Is(d.err, io.EOF) {
			d.err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: %v", ErrShardFormat, d.err)
	}
	return nil
}

// decoder reads varints, keeping the first error so that fields read as a list.
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

// into reads n bytes into buf's room (growing it as needed).
func (d *decoder) into(buf []byte, n uint64, max uint64) []byte {
	if d.err != nil {
		return buf
	}
	if n > max {
		d.err = fmt.Errorf("%d bytes: too long", n)
		return buf
	}
	buf = slices.Grow(buf, int(n))[:n]
	_, d.err = io.ReadFull(d.br, buf)
	return buf
}

func (d *decoder) bytes(n uint64, max uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > max {
		d.err = fmt.Errorf("%d bytes: too long", n)
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.br, b)
	return b
}
