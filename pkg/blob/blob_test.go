package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/blob/blobtest"
)

// store is what both implementations offer.
type store interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	DeletePrefix(ctx context.Context, prefix string) error
	Concat(ctx context.Context, dst string, srcs []string) (int64, error)
}

func read(t *testing.T, s store, key string) (string, error) {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

func TestStores(t *testing.T) {
	stores := map[string]store{
		"dir": blob.Dir{Root: t.TempDir()},
		"s3":  blobtest.S3(t, "workloads").Bucket("workloads"),
	}
	ctx := context.Background()
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			if _, err := read(t, s, "env-1/capture-1/workload.jsonl.gz"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("open missing: err %v, want ErrNotFound", err)
			}
			puts := map[string]string{
				"env-1/capture-1/fragment-000000.jsonl.gz":  "a",
				"env-1/capture-1/fragment-000001.jsonl.gz":  "b",
				"env-1/capture-10/fragment-000000.jsonl.gz": "other capture",
			}
			for k, v := range puts {
				if err := s.Put(ctx, k, strings.NewReader(v)); err != nil {
					t.Fatal(err)
				}
			}
			// A second put replaces the first: a repeated collection rewrites its fragment.
			if err := s.Put(ctx, "env-1/capture-1/fragment-000000.jsonl.gz", strings.NewReader("a2")); err != nil {
				t.Fatal(err)
			}
			if got, err := read(t, s, "env-1/capture-1/fragment-000000.jsonl.gz"); err != nil || got != "a2" {
				t.Fatalf("read after overwrite = %q, %v", got, err)
			}
			if err := s.DeletePrefix(ctx, "env-1/capture-1/"); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"env-1/capture-1/fragment-000000.jsonl.gz", "env-1/capture-1/fragment-000001.jsonl.gz"} {
				if _, err := read(t, s, k); !errors.Is(err, blob.ErrNotFound) {
					t.Errorf("%s after delete: err %v, want ErrNotFound", k, err)
				}
			}
			if got, err := read(t, s, "env-1/capture-10/fragment-000000.jsonl.gz"); err != nil || got != "other capture" {
				t.Errorf("a prefix delete touched a sibling: %q, %v", got, err)
			}
			if err := s.DeletePrefix(ctx, "env-9/"); err != nil {
				t.Errorf("deleting nothing: %v", err)
			}
			for _, bad := range []string{"", "/abs", "a/../b", "a//b", "dir/"} {
				if err := s.Put(ctx, bad, bytes.NewReader(nil)); err == nil {
					t.Errorf("put %q: no error", bad)
				}
			}
		})
	}
}

func TestS3DeletesMoreThanAPage(t *testing.T) {
	srv := blobtest.S3(t, "b")
	s := srv.Bucket("b")
	ctx := context.Background()
	for i := range 1005 {
		key := fmt.Sprintf("env-1/capture-2/fragment-%06d.jsonl.gz", i)
		if err := s.Put(ctx, key, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePrefix(ctx, "env-1/capture-2/"); err != nil {
		t.Fatal(err)
	}
	// The SDK's own client agrees that nothing is left.
	client := s3.NewFromConfig(blobtest.Config, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(srv.URL), true })
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Fatalf("%d objects left after deleting 1005", len(out.Contents))
	}
}

func TestS3LinkDownloads(t *testing.T) {
	s := blobtest.S3(t, "b").Bucket("b")
	ctx := context.Background()
	if err := s.Put(ctx, "env-1/capture-1/workload.jsonl.gz", strings.NewReader("payload")); err != nil {
		t.Fatal(err)
	}
	link, err := s.Link(ctx, "env-1/capture-1/workload.jsonl.gz", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(link, "X-Amz-Expires=300") {
		t.Errorf("link %s does not expire in 5 minutes", link)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "payload" {
		t.Fatalf("GET presigned link: %d %q", resp.StatusCode, body)
	}
}

// TestConcat joins fragments of uneven sizes, in a folder and in S3. On S3 it goes through a
// multipart upload in 5 MiB parts (the real SDK against gofakes3): 16 MiB of fragments make 4
// parts, counted by a middleware, and the object holds exactly the fragments' bytes in order.
func TestConcat(t *testing.T) {
	ctx := context.Background()
	var srcs []string
	var want bytes.Buffer
	sizes := []int{3 << 20, 7 << 20, 100, 5 << 20, 1 << 20}
	data := make([]byte, 0, 17<<20)
	for i, n := range sizes {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, n)
		chunk[0], chunk[n-1] = '<', '>' // edges that a lost or doubled byte would move
		data = append(data, chunk...)
		srcs = append(srcs, fmt.Sprintf("frag/%d", i))
	}
	want.Write(data)
	srv := blobtest.S3(t, "workloads")
	counted := srv.Bucket("workloads")
	counted.PartSize = 5 << 20
	for name, s := range map[string]store{
		"folder": blob.Dir{Root: t.TempDir()},
		"s3":     counted,
	} {
		t.Run(name, func(t *testing.T) {
			off := 0
			for i, n := range sizes {
				if err := s.Put(ctx, srcs[i], bytes.NewReader(data[off:off+n])); err != nil {
					t.Fatal(err)
				}
				off += n
			}
			size, err := s.Concat(ctx, "workload", srcs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := read(t, s, "workload")
			if err != nil {
				t.Fatal(err)
			}
			if size != int64(want.Len()) || got != want.String() {
				t.Fatalf("concat: %d bytes reported, %d read, want exactly the %d of the fragments in order", size, len(got), want.Len())
			}
		})
	}
	if parts := srv.Count(func(r *http.Request) bool { return r.URL.Query().Has("partNumber") }); parts != 4 {
		t.Errorf("%d parts uploaded, want 4 of at most 5 MiB for 16 MiB", parts)
	}
}

// TestS3ConcatOpensAhead: Concat opens its sources a window ahead, several GETs at once but
// never more than the window, and still writes them in order; a source that is missing fails
// it and leaves no upload behind.
func TestS3ConcatOpensAhead(t *testing.T) {
	ctx := context.Background()
	srv := blobtest.S3(t, "b")
	s := srv.Bucket("b")
	s.OpenAhead = 4
	var srcs []string
	var want strings.Builder
	for i := range 40 {
		key := fmt.Sprintf("env-1/capture-1/fragment-%06d.jsonl.gz", i)
		body := fmt.Sprintf("<fragment %d>", i)
		if err := s.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, key)
		want.WriteString(body)
	}
	srv.Latency = 20 * time.Millisecond
	size, err := s.Concat(ctx, "env-1/capture-1/workload.jsonl.gz", srcs)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, s, "env-1/capture-1/workload.jsonl.gz"); got != want.String() || size != int64(want.Len()) {
		t.Fatalf("concat: %d bytes, %q", size, got)
	}
	// The window, plus the part upload that may run beside it.
	if n := srv.MaxInFlight(); n < 2 || n > s.OpenAhead+1 {
		t.Errorf("%d requests at once, want between 2 and the window of %d (+1 upload)", n, s.OpenAhead)
	}

	uploads := func() int {
		return srv.Count(func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploads") })
	}
	aborts := func() int {
		return srv.Count(func(r *http.Request) bool { return r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") })
	}
	started, aborted := uploads(), aborts()
	missing := append(slices.Clone(srcs[:10]), "env-1/capture-1/fragment-999999.jsonl.gz")
	missing = append(missing, srcs[10:]...)
	if _, err := s.Concat(ctx, "env-1/capture-1/other.jsonl.gz", missing); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("concat with a missing source: %v", err)
	}
	if uploads() != started+1 || aborts() != aborted+1 {
		t.Errorf("the failed concat's upload was not aborted")
	}
}

// BenchmarkS3ConcatFragments assembles 1,000 small fragments (a capture of about 17 hours,
// one a minute) from a fake S3 answering after 10 ms, opening them one at a time and a window
// ahead: the time a stop takes, which grows with how long the capture recorded.
func BenchmarkS3ConcatFragments(b *testing.B) {
	ctx := context.Background()
	srv := blobtest.S3(b, "b")
	s := srv.Bucket("b")
	srcs := make([]string, 1000)
	for i := range srcs {
		srcs[i] = fmt.Sprintf("env-1/capture-1/fragment-%06d.jsonl.gz", i)
		if err := s.Put(ctx, srcs[i], strings.NewReader(strings.Repeat("x", 1024))); err != nil {
			b.Fatal(err)
		}
	}
	srv.Latency = 10 * time.Millisecond
	for _, window := range []int{1, 32} {
		b.Run(fmt.Sprintf("ahead=%d", window), func(b *testing.B) {
			s.OpenAhead = window
			for b.Loop() {
				if _, err := s.Concat(ctx, "env-1/capture-1/workload.jsonl.gz", srcs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(srcs))*float64(b.N)/b.Elapsed().Seconds(), "fragments/s")
		})
	}
}
