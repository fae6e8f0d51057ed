package recording

import (
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// SetAfterSwap makes r run fn right after each collection's swap, for fault injection.
func SetAfterSwap(r *Recorder, fn func(capture.Rotation) error) { r.afterSwap = fn }

// OwnSessionsLag is how far around a collection's rows it looks for the recorder's sessions.
const OwnSessionsLag = ownSessionsLag

// SettleOf is how old a log row must be for r to collect it.
func SettleOf(r *Recorder) time.Duration { return r.settle() }
