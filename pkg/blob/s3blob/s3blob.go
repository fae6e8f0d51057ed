// Package s3blob keeps blobs in an S3 bucket: the stack's workload bucket on AWS. It is apart
// from package blob so that functions which never touch S3 do not link its client.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/blob"
)

// Bucket keeps blobs as objects in Bucket.
type Bucket struct {
	Client *s3.Client
	Bucket string
	// PartSize is the size of each part but the last when Concat uploads in parts: 8 MiB when
	// zero, and at least 5 MiB, the least S3 takes.
	PartSize int
}

// Put uploads body to key.
func (b Bucket) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	_, err := b.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.Bucket, Key: &key, Body: body})
	if err != nil {
		return awserr.Wrap("store "+key, err)
	}
	return nil
}

// Open streams key; blob.ErrNotFound if there is no such object.
func (b Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := blob.ValidKey(key); err != nil {
		return nil, err
	}
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("open s3://%s/%s: %w", b.Bucket, key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, awserr.Wrap("read "+key, err)
	}
	return out.Body, nil
}

// DeletePrefix removes every object whose key starts with prefix, a page of 1,000 at a time.
func (b Bucket) DeletePrefix(ctx context.Context, prefix string) error {
	pages := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: &b.Bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return awserr.Wrap("list "+prefix, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := b.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &b.Bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return awserr.Wrap("delete under "+prefix, err)
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("delete %s: AWS answered %s", aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Code))
		}
	}
	return nil
}

// Link is a presigned GET URL for key that works for ttl.
func (b Bucket) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	req, err := s3.NewPresignClient(b.Client).PresignGetObject(ctx,
		&s3.GetObjectInput{Bucket: &b.Bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", awserr.Wrap("link to "+key, err)
	}
	return req.URL, nil
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
	up, err := b.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.Bucket, Key: &dst})
	if err != nil {
		return 0, awserr.Wrap("start writing "+dst, err)
	}
	size, err := b.uploadParts(ctx, dst, up.UploadId, srcs, partSize)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, aerr := b.Client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &b.Bucket, Key: &dst, UploadId: up.UploadId})
		return 0, errors.Join(err, awserr.Wrap("abandon writing "+dst, aerr))
	}
	return size, nil
}

func (b Bucket) uploadParts(ctx context.Context, dst string, uploadID *string, srcs []string, partSize int) (int64, error) {
	var (
		parts []types.CompletedPart
		buf   = make([]byte, 0, partSize)
		size  int64
	)
	flush := func() error {
		n := int32(len(parts) + 1)
		out, err := b.Client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b.Bucket, Key: &dst, UploadId: uploadID,
			PartNumber: &n, Body: bytes.NewReader(buf)})
		if err != nil {
			return awserr.Wrap(fmt.Sprintf("write part %d of %s", n, dst), err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: &n})
		size += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	for _, src := range srcs {
		r, err := b.Open(ctx, src)
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
	_, err := b.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b.Bucket, Key: &dst,
		UploadId: uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return 0, awserr.Wrap("finish writing "+dst, err)
	}
	return size, nil
}
