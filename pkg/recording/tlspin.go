package recording

import (
	"context"
	"crypto/tls"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
)

// pinFunc takes the fingerprint of a certificate trusted on first use and returns the pin in
// force (dbtls.Target.Pin).
type pinFunc = func(ctx context.Context, fingerprint string) (string, error)

// pinStored pins on env itself, by a conditional write, so that of two connections pinning
// at once the first wins and both use its pin.
func (r *Recorder) pinStored(env capture.Environment) pinFunc {
	return func(ctx context.Context, fingerprint string) (string, error) {
		pinned, err := r.Store.PinTLS(ctx, env.ID, fingerprint)
		if err == nil {
			r.Log.InfoContext(ctx, "pinned the database server's certificate", "tls_fingerprint", pinned)
		}
		return pinned, err
	}
}

// tlsConfig is the TLS configuration of a connection to env at addr in mode (see
// dbtls.Target.Config); a certificate trusted on first use is handed to pin.
func (r *Recorder) tlsConfig(ctx context.Context, env capture.Environment, mode dbtls.Mode, addr string, dial dbtls.Dial, pin pinFunc) (*tls.Config, error) {
	t := dbtls.Target{Mode: mode, Host: env.Host, Addr: addr, CACert: env.CACert, Pinned: env.TLSFingerprint, Dial: dial, Pin: pin}
	return t.Config(ctx)
}
