// Package s3blob keeps blobs in an S3 bucket: the stack's workload bucket on AWS. It is apart
// from package blob so that functions which never touch S3 do not link it. It speaks S3's REST
// protocol through package awsreq: the eight calls it makes, without the SDK's S3 client and
// its model of every other.
package s3blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
	"github.com/mycrt/captures/pkg/blob"
)

// Bucket keeps blobs as objects in one bucket.
type Bucket struct {
	s3     awsreq.Client
	bucket string
	prefix string // "/<bucket>" with path-style addressing, "" with virtual-hosted
	// PartSize is the size of each part but the last when Concat uploads in parts: 8 MiB when
	// zero, and at least 5 MiB, the least S3 takes.
	PartSize int
	// OpenAhead is how many of Concat's sources are being opened or waiting to be read beside
	// the one being read: 32 when zero, 1 to open them one at a time.
	OpenAhead int
}

// New keeps blobs in bucket, calling S3 with cfg's credentials: at the bucket's own
// virtual-hosted endpoint in cfg's region when endpoint is empty, or path-style at endpoint (a
// stand-in for S3).
func New(cfg aws.Config, endpoint, bucket string) Bucket {
	b := Bucket{bucket: bucket, s3: awsreq.Client{Config: cfg, Service: "s3", Endpoint: endpoint}}
	if endpoint == "" {
		b.s3.Endpoint = awsreq.RegionalEndpoint(bucket+".s3", cfg.Region)
	} else {
		b.prefix = "/" + bucket
	}
	return b
}

func (b Bucket) path(key string) string { return b.prefix + "/" + key }

// Put uploads body to key.
func (b Bucket) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	_, _, err := b.s3.Do(ctx, awsreq.Request{Method: http.MethodPut, Path: b.path(key), Stream: body})
	return awserr.Wrap("store "+key, err)
}

// Open streams key; blob.ErrNotFound if there is no such object.
func (b Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := blob.ValidKey(key); err != nil {
		return nil, err
	}
	resp, err := b.s3.Send(ctx, awsreq.Request{Method: http.MethodGet, Path: b.path(key)})
	var e *awsreq.Error
	if errors.As(err, &e) && e.Code == "NoSuchKey" {
		return nil, fmt.Errorf("open s3://%s/%s: %w", b.bucket, key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, awserr.Wrap("read "+key, err)
	}
	return resp.Body, nil
}

// DeletePrefix removes every object whose key starts with prefix, a page of 1,000 at a time.
func (b Bucket) DeletePrefix(ctx context.Context, prefix string) error {
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		var page struct {
			Keys      []string `xml:"Contents>Key"`
			Truncated bool     `xml:"IsTruncated"`
			Next      string   `xml:"NextContinuationToken"`
		}
		if err := b.xmlCall(ctx, awsreq.Request{Method: http.MethodGet, Path: b.prefix + "/", Query: q}, &page); err != nil {
			return awserr.Wrap("list "+prefix, err)
		}
		if err := b.deleteKeys(ctx, page.Keys); err != nil {
			return awserr.Wrap("delete under "+prefix, err)
		}
		if !page.Truncated || page.Next == "" {
			return nil
		}
		token = page.Next
	}
}

// deleteKeys is one DeleteObjects call, quiet: S3 answers only what it failed to delete.
func (b Bucket) deleteKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	type object struct {
		Key string
	}
	objects := make([]object, len(keys))
	for i, k := range keys {
		objects[i].Key = k
	}
	body, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"Delete"`
		Quiet   bool
		Objects []object `xml:"Object"`
	}{Quiet: true, Objects: objects})
	if err != nil {
		return err
	}
	sum := md5.Sum(body)
	var out struct {
		Errors []struct{ Key, Code string } `xml:"Error"`
	}
	err = b.xmlCall(ctx, awsreq.Request{Method: http.MethodPost, Path: b.prefix + "/", Query: url.Values{"delete": {""}},
		Header: http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}, "Content-Type": {"application/xml"}},
		Body:   body}, &out)
	if err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		return fmt.Errorf("delete %s: AWS answered %s", out.Errors[0].Key, out.Errors[0].Code)
	}
	return nil
}

// xmlCall sends req and decodes its XML answer into out. S3 may answer 200 with an <Error>
// body (CompleteMultipartUpload does), which is an error too.
func (b Bucket) xmlCall(ctx context.Context, req awsreq.Request, out any) error {
	_, body, err := b.s3.Do(ctx, req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var probe struct {
		XMLName xml.Name
		Code    string
		Message string
	}
	if xml.Unmarshal(body, &probe) == nil && probe.XMLName.Local == "Error" {
		return &awsreq.Error{Service: "s3", StatusCode: http.StatusOK, Code: probe.Code, Message: probe.Message}
	}
	if err := xml.Unmarshal(body, out); err != nil {
		return fmt.Errorf("s3: the answer is not XML: %w", err)
	}
	return nil
}

// Link is a presigned GET URL for key that works for ttl.
func (b Bucket) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	link, err := b.s3.Presign(ctx, awsreq.Request{Method: http.MethodGet, Path: b.path(key)}, ttl)
	if err != nil {
		return "", awserr.Wrap("link to "+key, err)
	}
	return link, nil
}

// minPart is the smallest part S3 accepts but for the last.
const minPart = 5 << 20

// Concat writes the blobs srcs, one after another, to dst with a multipart upload, streaming
// them through one part-sized buffer, so that dst may be far larger than the memory or disk of
// the caller. It returns dst's size. An upload that fails is aborted (the bucket's lifecycle
// rule aborts any left behind after 7 days).
func (b Bucket) Concat(ctx context.Context, dst string, srcs []string) (int64, error) {
	if err := blob.ValidKey(dst); err != nil {
		return 0, err
	}
	partSize := b.PartSize
	if partSize == 0 {
		partSize = 8 << 20
	}
	partSize = max(partSize, minPart)
	var up struct{ UploadId string }
	err := b.xmlCall(ctx, awsreq.Request{Method: http.MethodPost, Path: b.path(dst), Query: url.Values{"uploads": {""}}}, &up)
	if err != nil {
		return 0, awserr.Wrap("start writing "+dst, err)
	}
	size, err := b.uploadParts(ctx, dst, up.UploadId, srcs, partSize)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _, aerr := b.s3.Do(actx, awsreq.Request{Method: http.MethodDelete, Path: b.path(dst), Query: url.Values{"uploadId": {up.UploadId}}})
		return 0, errors.Join(err, awserr.Wrap("abandon writing "+dst, aerr))
	}
	return size, nil
}

type completedPart struct {
	PartNumber int
	ETag       string
}

func (b Bucket) uploadParts(ctx context.Context, dst, uploadID string, srcs []string, partSize int) (int64, error) {
	var (
		parts []completedPart
		buf   = make([]byte, 0, partSize)
		size  int64
	)
	flush := func() error {
		n := len(parts) + 1
		h, _, err := b.s3.Do(ctx, awsreq.Request{Method: http.MethodPut, Path: b.path(dst),
			Query: url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {uploadID}}, Stream: bytes.NewReader(buf)})
		if err != nil {
			return awserr.Wrap(fmt.Sprintf("write part %d of %s", n, dst), err)
		}
		parts = append(parts, completedPart{PartNumber: n, ETag: h.Get("Etag")})
		size += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	// A capture's fragments are one a minute for as long as it records (up to 44,640 for a
	// 31-day capture): opened one after another, their GETs' latency alone would outlast the
	// worker's timeout at the stop. They are opened a window ahead, in order.
	window := b.OpenAhead
	if window == 0 {
		window = 32
	}
	sources := openAhead(ctx, b.Open, srcs, window)
	defer sources.stop()
	for i, src := range srcs {
		r, err := sources.take(i)
		if err != nil {
			return 0, err
		}
		for {
			n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if len(buf) == cap(buf) {
				if ferr := flush(); ferr != nil {
					r.Close()
					return 0, ferr
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				r.Close()
				return 0, awserr.Wrap("read "+src, err)
			}
		}
		r.Close()
	}
	if len(buf) > 0 || len(parts) == 0 {
		if err := flush(); err != nil {
			return 0, err
		}
	}
	body, err := xml.Marshal(struct {
		XMLName xml.Name        `xml:"CompleteMultipartUpload"`
		Parts   []completedPart `xml:"Part"`
	}{Parts: parts})
	if err != nil {
		return 0, err
	}
	err = b.xmlCall(ctx, awsreq.Request{Method: http.MethodPost, Path: b.path(dst), Query: url.Values{"uploadId": {uploadID}},
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: body}, &struct{}{})
	if err != nil {
		return 0, awserr.Wrap("finish writing "+dst, err)
	}
	return size, nil
}

// ahead opens keys in order, at most window of them open or opening beyond those taken and
// not yet closed.
type ahead struct {
	results []chan opened // one per key, each sent exactly one value
	slots   chan struct{}
	cancel  context.CancelFunc
	taken   int
}

type opened struct {
	r   io.ReadCloser
	err error
}

func openAhead(ctx context.Context, open func(context.Context, string) (io.ReadCloser, error), keys []string, window int) *ahead {
	ctx, cancel := context.WithCancel(ctx)
	a := &ahead{results: make([]chan opened, len(keys)), slots: make(chan struct{}, max(window, 1)), cancel: cancel}
	for i := range a.results {
		a.results[i] = make(chan opened, 1)
	}
	go func() {
		for i, key := range keys {
			select {
			case a.slots <- struct{}{}:
			case <-ctx.Done():
				for _, res := range a.results[i:] {
					res <- opened{err: ctx.Err()}
				}
				return
			}
			go func() {
				r, err := open(ctx, key)
				a.results[i] <- opened{r, err}
			}()
		}
	}()
	return a
}

// take waits for key i (taken in order) and returns it; closing it frees its slot.
func (a *ahead) take(i int) (io.ReadCloser, error) {
	o := <-a.results[i]
	a.taken = i + 1
	if o.err != nil {
		<-a.slots
		return nil, o.err
	}
	return &slotted{ReadCloser: o.r, free: func() { <-a.slots }}, nil
}

// stop cancels what is still being opened and closes what was opened and not taken.
func (a *ahead) stop() {
	a.cancel()
	for _, res := range a.results[a.taken:] {
		if o := <-res; o.r != nil {
			o.r.Close()
		}
	}
}

// slotted is a taken source: closing it frees its slot, once.
type slotted struct {
	io.ReadCloser
	free func()
	once sync.Once
}

func (s *slotted) Close() error {
	err := s.ReadCloser.Close()
	s.once.Do(s.free)
	return err
}
