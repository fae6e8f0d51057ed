package store

import (
	"context"

	"github.com/mycrt/captures/pkg/capture"
)

// SetMaxExamined sets how many captures of an environment a search page reads, for the test,
// and puts it back when the test ends.
func SetMaxExamined(t interface{ Cleanup(func()) }, n int) {
	old := maxExamined
	maxExamined = n
	t.Cleanup(func() { maxExamined = old })
}

// EnsureCapture stores a bare DONE capture with id in envID, its replays counted as replays,
// unless one is there: what a replay of capture id needs of it (CreateReplay counts it there).
func EnsureCapture(t interface{ Fatal(...any) }, st *Store, id, envID int64, replays int) {
	it := newCaptureItem(capture.Capture{ID: id, EnvID: envID, Name: "replayed", Status: capture.Done, Replays: replays})
	pk, sk := claimKeys(envID, it.Name)
	err := st.db.WriteTx().Put(st.table.Put(it).If("attribute_not_exists(pk)")).
		Put(st.table.Put(nameClaim{keys: keys{PK: pk, SK: sk}, ClaimedBy: id})).Run(context.Background())
	if err != nil && failedCondition(err) != 0 {
		t.Fatal(err)
	}
}
