package recording

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
)

// spool is a gzip stream spooled to a temporary file.
type spool struct {
	f   *os.File
	buf *bufio.Writer
	gz  *gzip.Writer
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "fragment-*.jsonl.gz")
	if err != nil {
		return nil, err
	}
	s := &spool{f: f, buf: bufio.NewWriterSize(f, 64<<10)}
	if s.gz, err = gzip.NewWriterLevel(s.buf, gzip.BestSpeed); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

func (s *spool) write(b []byte) error {
	_, err := s.gz.Write(b)
	return err
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
