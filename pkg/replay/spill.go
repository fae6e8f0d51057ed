package replay

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Prepare's spill file: every session's steps, as Prepare reads them, in a temporary file, so
// that its memory does not grow with the workload's statements. A session's steps are a chain
// of blocks, each headed by where the next one is (patched in once that one is written); a
// block is the session's steps, each a run of unsigned varints: kind and flags, the offset
// from the session's step before (µs), the database's index in the workload, and for a
// statement its sequence number, digest (8 bytes), text, and when it opens a transaction the
// offset where that ends (8 bytes, patched in once it does). writeShard merges a shard's
// sessions' chains back, in time order, into the shard file.

// spillBlock is how many bytes of its steps a session gathers before they go to the spill
// file (a variable, for tests that exercise long chains).
var spillBlock = 4 << 10

const (
	spillWrite = 1 << 20 // the spill file's write buffer
	blockHead  = 12      // a block's header: the next block's position (8 bytes) and length (4)
)

// spill is the spill file being written: what is in the file, then its write buffer.
type spill struct {
	f    *os.File
	w    []byte // the bytes after the file's first size bytes, not written yet
	size int64
	err  error // the first write's error
}

func newSpill() (*spill, error) {
	f, err := os.CreateTemp("", "mycrt-prepare-*")
	if err != nil {
		return nil, fmt.Errorf("create Prepare's temporary file: %w", err)
	}
	return &spill{f: f, w: make([]byte, 0, spillWrite)}, nil
}

// remove closes and deletes the spill file.
func (sp *spill) remove() {
	sp.f.Close()
	os.Remove(sp.f.Name())
}

// add appends b and returns where it starts.
func (sp *spill) add(b []byte) int64 {
	at := sp.size + int64(len(sp.w))
	if len(sp.w)+len(b) > cap(sp.w) {
		sp.flush()
		if len(b) > cap(sp.w) {
			sp.write(b)
			return at
		}
	}
	sp.w = append(sp.w, b...)
	return at
}

// flush writes the write buffer to the file.
func (sp *spill) flush() {
	sp.write(sp.w)
	sp.w = sp.w[:0]
}

func (sp *spill) write(b []byte) {
	if sp.err == nil {
		_, sp.err = sp.f.Write(b)
	}
	sp.size += int64(len(b))
}

// patch overwrites the bytes at position at with b.
func (sp *spill) patch(at int64, b []byte) {
	if at < sp.size {
		n := min(int64(len(b)), sp.size-at)
		if sp.err == nil {
			_, sp.err = sp.f.WriteAt(b[:n], at)
		}
		at, b = sp.size, b[n:]
	}
	copy(sp.w[at-sp.size:], b)
}

// extent is where a block is in the spill file.
type extent struct {
	at int64
	n  uint32
}

// chain is one session's steps in the spill file and those not yet there.
type chain struct {
	buf      []byte // steps gathered, after room for a block header
	first    extent // its first block (n 0: none yet)
	tail     int64  // where its last block is
	txnAt    int64  // where its open transaction's end is to be patched in (in buf if txnInBuf); -1: none
	txnInBuf bool
}

// put adds step st, the offset of the session's step before being prev, to the chain.
func (c *chain) put(sp *spill, st *step, prev int64) {
	if c.buf == nil {
		c.buf = make([]byte, blockHead, 256)
	}
	b := c.buf
	b = binary.AppendUvarint(b, uint64(st.kind)|uint64(st.flags)<<2)
	b = binary.AppendUvarint(b, uint64(st.offset-prev))
	b = binary.AppendUvarint(b, uint64(st.db))
	if st.kind == kindStatement {
		b = binary.AppendUvarint(b, uint64(st.seq))
		b = binary.LittleEndian.AppendUint64(b, st.digest)
		b = binary.AppendUvarint(b, uint64(len(st.sql)))
		b = append(b, st.sql...)
		if st.flags&flagTxnStart != 0 {
			c.txnAt, c.txnInBuf = int64(len(b)), true
			b = binary.LittleEndian.AppendUint64(b, 0)
		}
	}
	c.buf = b
	if len(b) >= spillBlock {
		c.out(sp)
	}
}

// endTxn patches the end of the session's open transaction in, if it has one.
func (c *chain) endTxn(sp *spill, end int64) {
	if c.txnAt < 0 {
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(end))
	if c.txnInBuf {
		copy(c.buf[c.txnAt:], b[:])
	} else {
		sp.patch(c.txnAt, b[:])
	}
	c.txnAt, c.txnInBuf = -1, false
}

// out moves the steps gathered to the spill file, as the chain's next block.
func (c *chain) out(sp *spill) {
	if len(c.buf) <= blockHead {
		return
	}
	at := sp.add(c.buf)
	n := uint32(len(c.buf))
	if c.first.n == 0 {
		c.first = extent{at, n}
	} else {
		var h [blockHead]byte
		binary.LittleEndian.PutUint64(h[:], uint64(at))
		binary.LittleEndian.PutUint32(h[8:], n)
		sp.patch(c.tail, h[:])
	}
	c.tail = at
	if c.txnInBuf {
		c.txnAt, c.txnInBuf = c.txnAt+at, false
	}
	c.buf = c.buf[:blockHead] // its header's room was never written to: still zero
}

// close moves what the chain gathered to the spill file and lets its buffer go.
func (c *chain) close(sp *spill) {
	c.out(sp)
	c.buf = nil
}

var errSpill = errors.New("the temporary file of Prepare is damaged")

// chainReader reads one session's steps back from the spill file, as they go into its shard.
type chainReader struct {
	f     *os.File
	next  extent
	buf   []byte
	pos   int
	left  int   // steps not read yet
	prev  int64 // the offset of the step before, as spilled
	first int64 // the plan's First: offsets are read relative to it
	st    step  // the step read last (its text in buf)
}

// read reads the session's next step into r.st, its offsets from first (never negative), its
// text in st.text and flagLast on its last; false after its last.
func (r *chainReader) read() (bool, error) {
	if r.left == 0 {
		return false, nil
	}
	if r.pos == len(r.buf) {
		if r.next.n < blockHead {
			return false, fmt.Errorf("%w: a session's steps end early", errSpill)
		}
		r.buf = slices.Grow(r.buf[:0], int(r.next.n))[:r.next.n]
		if _, err := r.f.ReadAt(r.buf, r.next.at); err != nil {
			return false, fmt.Errorf("read Prepare's temporary file: %w", err)
		}
		r.next = extent{int64(binary.LittleEndian.Uint64(r.buf)), binary.LittleEndian.Uint32(r.buf[8:])}
		r.pos = blockHead
	}
	d := bytesDecoder{b: r.buf, i: r.pos}
	st := &r.st
	kf := d.u()
	st.kind, st.flags = kind(kf&3), flags(kf>>2)
	r.prev += int64(d.u())
	st.offset = max(0, r.prev-r.first)
	st.db = uint32(d.u())
	st.seq, st.digest, st.text, st.txnEnd = 0, 0, nil, 0
	if st.kind == kindStatement {
		st.seq = uint32(d.u())
		st.digest = d.u64()
		st.text = d.bytes(int(d.u()))
		if st.flags&flagTxnStart != 0 {
			st.txnEnd = max(0, int64(d.u64())-r.first)
		}
	}
	if d.bad {
		return false, fmt.Errorf("%w: a step cannot be read (pos %d of %d, left %d, kind %d %d)", errSpill, r.pos, len(r.buf), r.left, st.kind, st.flags)
	}
	r.pos = d.i
	r.left--
	if r.left == 0 {
		st.flags |= flagLast
	}
	return true, nil
}

// bytesDecoder reads a spilled step's fields from a block.
type bytesDecoder struct {
	b   []byte
	i   int
	bad bool
}

func (d *bytesDecoder) u() uint64 {
	v, n := binary.Uvarint(d.b[min(d.i, len(d.b)):])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.i += n
	return v
}

func (d *bytesDecoder) u64() uint64 {
	b := d.bytes(8)
	if len(b) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *bytesDecoder) bytes(n int) []byte {
	if d.bad || n < 0 || n > len(d.b)-d.i {
		d.bad = true
		return nil
	}
	b := d.b[d.i : d.i+n]
	d.i += n
	return b
}

// writeShard writes one shard's sessions' steps, read back from the spill file f, merged in
// time order, to w; it returns how many statements it holds.
func (p *prepared) writeShard(w io.Writer, f *os.File, sessions []*session) (int64, error) {
	head := shardHead{}
	used := map[uint32]uint32{0: 0}
	head.DBs = []string{""}
	var statements int64
	h := &merge{}
	for i, s := range sessions {
		head.Sessions = append(head.Sessions, shardSession{Ordinal: s.ordinal, Steps: s.steps})
		for _, db := range s.dbs {
			if _, ok := used[db]; !ok {
				used[db] = uint32(len(head.DBs))
				head.DBs = append(head.DBs, p.dbNames[db])
			}
		}
		statements += s.statements
		c := &cursor{session: uint32(i), chainReader: chainReader{f: f, next: s.first, left: s.steps, first: p.first}}
		if ok, err := c.read(); err != nil {
			return 0, err
		} else if ok {
			h.at = append(h.at, c)
		}
	}
	sw, err := newShardWriter(w, head)
	if err != nil {
		return 0, err
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := h.at[0]
		c.st.session, c.st.db = c.session, used[c.st.db]
		if err := sw.write(&c.st); err != nil {
			return 0, err
		}
		if ok, err := c.read(); err != nil {
			return 0, err
		} else if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return statements, sw.close()
}

// merge is a heap of sessions' next steps, earliest first (the lower session on a tie).
type merge struct{ at []*cursor }

// cursor is a session's next step in the merge.
type cursor struct {
	session uint32 // its index in the shard
	chainReader
}

func (m *merge) Len() int { return len(m.at) }
func (m *merge) Less(i, j int) bool {
	a, b := m.at[i], m.at[j]
	return a.st.offset < b.st.offset || a.st.offset == b.st.offset && a.session < b.session
}
func (m *merge) Swap(i, j int) { m.at[i], m.at[j] = m.at[j], m.at[i] }
func (m *merge) Push(x any)    { m.at = append(m.at, x.(*cursor)) }
func (m *merge) Pop() any {
	x := m.at[len(m.at)-1]
	m.at = m.at[:len(m.at)-1]
	return x
}
