package capture

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Collector is one database server's general log collection, shared by every capture recording
// it: one collection at a time reads the server's new rows once and hands each row to each
// capture whose window holds it. Collections are numbered; a capture notes the last one it
// has had (Workload.Rotation), so a collection redone after a crash gives nobody a row twice.
type Collector struct {
	Server  string    // the server, as its lease is keyed: ServerLeaseKey(identity)
	Readers []int64   // captures that collect from it
	Seq     int       // collections finished
	Pending *Rotation // the collection claimed and not finished, which the next one finishes first
}

// Rotation is one collection of a server's log: the rows set aside by a swap into a table of
// their own, or, where the server cannot rotate, the rows of the live table in (From, UpTo].
type Rotation struct {
	N     int
	Table string    // the table the rows were swapped into; "" when read in place
	From  time.Time // read in place: after this
	UpTo  time.Time // the server's clock just before the swap, or the end of the range read in place
}

// Rotated reports whether the collection swapped its rows out of the live table.
func (r Rotation) Rotated() bool { return r.Table != "" }

// CollectorSessionsKey names what server's log had told of its sessions (each one's current
// database) once its collection n was read. It is the server's, not a capture's: every
// capture's rows get their database from it, so one row reads the same in every workload.
func CollectorSessionsKey(server string, n int) string {
	return CollectionPrefix(server, n) + "sessions.json"
}

// CollectionPrefix holds what is kept of server's collection n.
func CollectionPrefix(server string, n int) string {
	sum := sha256.Sum256([]byte(server))
	return fmt.Sprintf("%s%s/%09d/", CollectorsPrefix, hex.EncodeToString(sum[:12]), n)
}

// CollectorsPrefix holds what servers' collections keep: only the last collection's, for a
// server being recorded, which every collection rewrites under a new key.
const CollectorsPrefix = "collectors/"

// CollectorFilesLife is how long a collection's files are worth keeping: longer than any capture
// records, so the files of a server nobody records any more can be expired by age.
const CollectorFilesLife = MaxDuration + 14*24*time.Hour
