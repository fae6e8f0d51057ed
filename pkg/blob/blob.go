// Package blob keeps captures' workload and metrics files: in an S3 bucket on AWS, and in a
// folder under the data folder for the local server. Keys are slash-separated paths.
package blob

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned by Open for a key that holds nothing.
var ErrNotFound = errors.New("blob not found")

// ValidKey rejects keys that could escape a folder or name one.
func ValidKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "\\") {
		return fmt.Errorf("invalid blob key %q", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid blob key %q", key)
		}
	}
	return nil
}
