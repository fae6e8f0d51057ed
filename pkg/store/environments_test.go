package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
)

// TestPinTLS: of pins written at once the first wins, every writer gets it back, and a pin
// never changes afterwards.
func TestPinTLS(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	const n = 4
	var (
		wg   sync.WaitGroup
		got  [n]string
		errs [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.PinTLS(ctx, envID, fmt.Sprintf("%02X", i))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] || got[0] == "" {
			t.Fatalf("pins in force %q, errors %v: want one for all", got, errs)
		}
	}
	if pinned, err := st.PinTLS(ctx, envID, "FF"); err != nil || pinned != got[0] {
		t.Errorf("a later pin: %q, %v; want %q kept", pinned, err, got[0])
	}
	if env, err := st.Environment(ctx, envID); err != nil || env.TLSFingerprint != got[0] {
		t.Errorf("stored %q, %v; want %q", env.TLSFingerprint, err, got[0])
	}
	if _, err := st.PinTLS(ctx, envID+1000, "FF"); !errors.Is(err, capture.ErrEnvNotFound) {
		t.Errorf("pin on a missing environment: %v, want ErrEnvNotFound", err)
	}
}
