package recording

import "github.com/mycrt/captures/pkg/lease"

// SetAfterSwap makes r run fn right after each collection's swap, for fault injection.
func SetAfterSwap(r *Recorder, fn func(lease.Collection) error) { r.afterSwap = fn }

// OwnSessionsLag is how far around a collection's rows it looks for the recorder's sessions.
const OwnSessionsLag = ownSessionsLag
