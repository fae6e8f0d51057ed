package recording

import "github.com/mycrt/captures/pkg/capture"

// SetAfterSwap makes r run fn right after each collection's swap, for fault injection.
func SetAfterSwap(r *Recorder, fn func(capture.Rotation) error) { r.afterSwap = fn }
