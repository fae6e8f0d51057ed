package recording

import (
	"context"
	"crypto/tls"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
)

// tlsConfig is the TLS configuration of a connection to env at addr in mode (see
// dbtls.Target.Config). A certificate pinned on first use is stored on env by a conditional
// write, so that of two connections pinning at once the first wins and both use its pin.
func (r *Recorder) tlsConfig(ctx context.Context, env capture.Environment, mode dbtls.Mode, addr string, dial dbtls.Dial) (*tls.Config, error) {
	t := dbtls.Target{
		Mode: mode, Host: env.Host, Addr: addr, CACert: env.CACert, Pinned: env.TLSFingerprint, Dial: dial,
		Pin: func(ctx context.Context, fingerprint string) (string, error) {
			pinned, err := r.Store.PinTLS(ctx, env.ID, fingerprint)
			if err == nil {
				r.Log.InfoContext(ctx, "pinned the database server's certificate", "addr", addr, "tls_fingerprint", pinned)
			}
			return pinned, err
		},
	}
	return t.Config(ctx)
}
