package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// progress writes "n / total bytes" to w as the copy goes.
type progress struct {
	w        io.Writer
	n, total int64
	last     time.Time
}

func bar(n, total int64) string {
	const width = 30
	filled := int(n * width / total)
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func (c *cli) captureDownload() *cobra.Command {
	var out string
	var quiet bool
	cmd := &cobra.Command{Use: "download ID", Short: "Save a capture's workload (.jsonl.gz)", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		if out == "" {
			out = fmt.Sprintf("capture-%d.jsonl.gz", id)
		}
		resp, err := c.workload(cmd.Context(), id)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		// Written beside the target and renamed only once whole and verified: a download that
		// breaks leaves nothing that looks complete, and nothing is resumed.
		tmp, err := os.CreateTemp(filepath.Dir(out), ".mycrt-download-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		var sink io.Writer = tmp
		p := &progress{w: c.stderr, total: resp.ContentLength}
		if !quiet {
			sink = io.MultiWriter(tmp, p)
		}
		n, err := io.Copy(sink, resp.Body)
		if !quiet {
			p.print()
			fmt.Fprintln(c.stderr)
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
		}
		if err == nil {
			err = verifyGzip(tmp)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("download capture %d: %w", id, err)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return err
		}
		if c.json {
			fmt.Fprintf(c.stdout, "{\"file\":%q,\"bytes\":%d}\n", out, n)
		} else {
			fmt.Fprintf(c.stdout, "Saved %s (%s)\n", out, humanBytes(n))
		}
		return nil
	}}
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to save it (default capture-ID.jsonl.gz)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

// verifyGzip reads f whole as gzip: a workload that does not decompress to its end is not kept.
func verifyGzip(f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("the workload does not decompress: %w", err)
	}
	return nil
}

// rawResponse is an answer read without the generated parser (a download's).
type rawResponse struct {
	resp *http.Response
	body []byte
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.print()
	}
	return len(b), nil
}

func (p *progress) print() {
	// Padded, so a shorter figure overwrites a longer one.
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s %10s / %s", bar(p.n, p.total), humanBytes(p.n), humanBytes(p.total))
	} else {
		fmt.Fprintf(p.w, "\r%10s", humanBytes(p.n))
	}
}

func (r rawResponse) GetBody() []byte { return r.body }

func (r rawResponse) StatusCode() int { return r.resp.StatusCode }

func (r rawResponse) Status() string { return r.resp.Status }

// workload opens capture id's workload file for reading: the response, whose body the caller
// closes, or the API's answer as an error.
func (c *cli) workload(ctx context.Context, id int) (*http.Response, error) {
	resp, err := c.raw.GetCaptureWorkload(ctx, id)
	if err != nil {
		return nil, c.unreachable(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_, err := c.answer(nil, rawResponse{resp, b})
		return nil, err
	}
	return resp, nil
}
