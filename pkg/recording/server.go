package recording

import (
	"context"

	"github.com/mycrt/captures/pkg/capture"
)

// Server returns the key of the server env's database is on (lease.ServerGroup.Server), found
// by proof as the recorder's own sessions find it: what one replay at a time holds on a target.
func (r *Recorder) Server(ctx context.Context, env capture.Environment) (string, error) {
	c, err := r.connect(ctx, env)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.server, nil
}
