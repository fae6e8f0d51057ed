package recording

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
)

// spool is a gzip stream spooled to a temporary file.
type spool struct {
	f       *os.File
	buf     *bufio.Writer
	gz      *gzip.Writer
	out     counter // the compressed bytes gzip has emitted
	pending int64   // bytes written to gzip since it last emitted all it was given
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "fragment-*.jsonl.gz")
	if err != nil {
		return nil, err
	}
	s := &spool{f: f, buf: bufio.NewWriterSize(f, 64<<10)}
	s.out.w = s.buf
	if s.gz, err = gzip.NewWriterLevel(&s.out, gzip.BestSpeed); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

func (s *spool) write(b []byte) error {
	_, err := s.gz.Write(b)
	s.pending += int64(len(b))
	return err
}

// The most gzip adds around what it is given: its header (10 bytes), a flush's empty block
// and the final one (5 bytes each, and a byte of bit padding), its trailer (8 bytes).
const gzipFraming = 10 + 2*(5+1) + 8

// bound is the most the stream's file can hold once n more bytes are written and it is closed.
// Deflate stores a block whose compressed form would be larger than itself, so a block of p
// bytes takes at most p and a 5-byte header per 64 KiB (counted here per 16 KiB, to spare).
func (s *spool) bound(n int) int64 {
	p := s.pending + int64(n)
	return s.out.n + p + 5*(p/(16<<10)+2) + gzipFraming
}

// fits reports whether n more bytes leave the closed stream within room bytes. Past what the
// bound allows it flushes gzip (keeping its dictionary), so that near the limit the answer
// rests on what is actually compressed, not on a bound that assumes no compression at all.
func (s *spool) fits(n int, room int64) (bool, error) {
	if s.bound(n) <= room {
		return true, nil
	}
	if s.pending == 0 {
		return false, nil
	}
	if err := s.gz.Flush(); err != nil {
		return false, err
	}
	s.pending = 0
	return s.bound(n) <= room, nil
}

// close ends the gzip stream and returns the file's size.
func (s *spool) close() (int64, error) {
	if err := s.gz.Close(); err != nil {
		return 0, err
	}
	if err := s.buf.Flush(); err != nil {
		return 0, err
	}
	return s.f.Seek(0, io.SeekCurrent)
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}
