package recording

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSpoolFitsIsABound: whatever rows a spool is given, random (which gzip cannot shrink) or
// alike, and whatever its room, the rows fits admits leave the closed file within the room,
// and it refuses only what would not fit with the rows it had (it admits most of what fits:
// at least room less two rows and the framing, uncompressed, for random rows).
func TestSpoolFitsIsABound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	alike := func(n int) []byte {
		return []byte(fmt.Sprintf("%-*s\n", n-1, fmt.Sprintf(`{"sql":"INSERT INTO t VALUES (%d)"}`, rng.IntN(1000))))
	}
	for _, tt := range []struct {
		name string
		row  func(int) []byte
	}{{"random", random}, {"alike", alike}} {
		for _, room := range []int64{100, 1024, 4096, 70_000, 300_000} {
			t.Run(fmt.Sprintf("%s in %d", tt.name, room), func(t *testing.T) {
				sp, err := newSpool(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				defer sp.remove()
				var written int64
				largest := 0
				for range 10_000 {
					b := tt.row(40 + rng.IntN(400))
					largest = max(largest, len(b))
					ok, err := sp.fits(len(b), room)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					if err := sp.write(b); err != nil {
						t.Fatal(err)
					}
					written += int64(len(b))
				}
				size, err := sp.close()
				if err != nil {
					t.Fatal(err)
				}
				if size > room {
					t.Fatalf("closed at %d bytes, over its room of %d", size, room)
				}
				if tt.name == "random" && written < room-int64(2*largest)-500 {
					t.Errorf("admitted %d bytes of random rows in a room of %d: refused too early", written, room)
				}
			})
		}
	}
}
