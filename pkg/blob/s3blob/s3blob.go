// Package s3blob keeps blobs in an S3 bucket: the stack's workload bucket on AWS. It is apart
// from package blob so that functions which never touch S3 do not link its client.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mycrt/captures/pkg/awserr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mycrt/captures/pkg/blob"
)

// Bucket keeps blobs as objects in Bucket.
type Bucket struct {
	Client *s3.Client
	Bucket string
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
