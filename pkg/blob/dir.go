package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir keeps blobs as files under Root.
type Dir struct {
	Root string
}

func (d Dir) path(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put writes body to key. The file appears whole or not at all: it is written beside its
// final name and renamed into place, as S3 makes an object visible only once complete.
func (d Dir) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Open reads key; ErrNotFound if it holds nothing.
func (d Dir) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return f, nil
}

// DeletePrefix removes every blob whose key starts with prefix, which must end in a slash.
func (d Dir) DeletePrefix(ctx context.Context, prefix string) error {
	p, err := d.path(prefix + "x")
	if err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Dir(p)); err != nil {
		return fmt.Errorf("delete %s: %w", prefix, err)
	}
	return nil
}

// Concat writes the blobs srcs, one after another, to dst, streaming them into a file beside
// dst that appears whole or not at all. It returns dst's size.
func (d Dir) Concat(ctx context.Context, dst string, srcs []string) (int64, error) {
	p, err := d.path(dst)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".concat-*")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name())
	var size int64
	for _, src := range srcs {
		r, err := d.Open(ctx, src)
		if err != nil {
			tmp.Close()
			return 0, err
		}
		n, err := io.Copy(tmp, r)
		r.Close()
		size += n
		if err != nil {
			tmp.Close()
			return 0, fmt.Errorf("write %s: %w", dst, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	return size, nil
}
