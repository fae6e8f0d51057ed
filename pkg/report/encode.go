package report

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// A stored State is the magic "MYCRTR2\n" and then varints: the counts, the lateness sketch,
// then each fingerprint in digest order with its counts, latency sketch (sketch.appendTo) and
// error numbers in order. The same state is always the same bytes.
const stateMagic = "MYCRTR2\n"

// ErrFormat is returned for input that is not a stored State.
var ErrFormat = errors.New("not a stored report state")

// Encode writes s in its stored form.
func (s *State) Encode(w io.Writer) error {
	b := []byte(stateMagic)
	u := func(v uint64) { b = binary.AppendUvarint(b, v) }
	i := func(v int64) { b = binary.AppendVarint(b, v) }
	sketch := func(sk *sketch) { b = sk.appendTo(b) }
	u(uint64(s.replayed))
	u(uint64(s.skipped))
	u(uint64(s.errors))
	i(int64(s.latenessMax))
	sketch(s.lateness)
	u(uint64(len(s.rows)))
	for _, d := range slices.Sorted(maps.Keys(s.rows)) {
		f := s.rows[d]
		b = binary.LittleEndian.AppendUint64(b, d)
		u(uint64(f.count))
		u(uint64(f.errors))
		u(uint64(f.skipped))
		i(f.rows)
		i(int64(f.total))
		i(int64(f.max))
		sketch(f.latency)
		u(uint64(len(f.codes)))
		for _, errno := range slices.Sorted(maps.Keys(f.codes)) {
			c := f.codes[errno]
			u(uint64(errno))
			u(uint64(c.count))
			i(int64(c.at))
			u(uint64(len(c.message)))
			b = append(b, c.message...)
		}
	}
	_, err := w.Write(b)
	return err
}

// decoder reads a stored state's fields, keeping the first error so they read as a list.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFormat, what)
	}
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64() uint64 {
	v := d.bytes(8)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(v)
}

func (d *decoder) sketch() *sketch {
	sk, err := readSketch(d.u, d.i)
	if d.err != nil {
		return nil
	}
	if err != nil {
		d.fail(err.Error())
		return nil
	}
	return sk
}

// Decode reads a State that Encode wrote. known is as for New: it applies to what is folded
// into the state from then on.
func Decode(r io.Reader, known func(uint64) bool) (*State, error) {
	all, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read report state: %w", err)
	}
	if len(all) < len(stateMagic) || string(all[:len(stateMagic)]) != stateMagic {
		return nil, ErrFormat
	}
	d := decoder{b: all[len(stateMagic):]}
	s := New(known)
	s.replayed, s.skipped, s.errors = int64(d.u()), int64(d.u()), int64(d.u())
	s.latenessMax = time.Duration(d.i())
	if sk := d.sketch(); sk != nil {
		s.lateness = sk
	}
	n := d.u()
	if n > uint64(len(d.b)) { // each row takes at least a byte: a count no file could hold
		d.fail("row count")
	}
	for range n {
		if d.err != nil {
			break
		}
		key := d.u64()
		f := &fingerprint{count: int64(d.u()), errors: int64(d.u()), skipped: int64(d.u()), rows: d.i(),
			total: time.Duration(d.i()), max: time.Duration(d.i()), latency: d.sketch()}
		codes := d.u()
		for range codes {
			if d.err != nil {
				break
			}
			errno, count, at := d.u(), int64(d.u()), time.Duration(d.i())
			msg := d.bytes(d.u())
			if errno > 0xFFFF {
				d.fail("error number")
			}
			if d.err == nil {
				f.addError(uint16(errno), count, string(msg), at)
			}
		}
		if d.err == nil {
			s.rows[key] = f
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}
