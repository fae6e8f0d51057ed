package lease

import "time"

// Collector is one database server's general log collection, shared by every capture recording
// it: one collection at a time reads the server's new rows once and hands each row to each
// capture whose window holds it. Collections are numbered; a capture notes the last one it
// has had (capture.Workload.LastCollection), so a collection redone after a crash gives nobody a row twice.
type Collector struct {
	Server   string      // the server, as its lease is keyed: ServerKey, of a ServerGroup
	Readers  []int64     // captures that collect from it
	Finished int         // collections finished: the next is Finished+1
	Pending  *Collection // the collection claimed and not finished, which the next one finishes first
}

// Collection is one collection of a server's log: the rows set aside by a swap into a table of
// their own, or, where the server cannot rotate, the rows of the live table in (From, UpTo].
type Collection struct {
	N     int
	Table string    // the table the rows were swapped into; "" when read in place
	From  time.Time // read in place: after this
	UpTo  time.Time // the server's clock just before the swap, or the end of the range read in place
}

// Rotated reports whether the collection swapped its rows out of the live table.
func (r Collection) Rotated() bool { return r.Table != "" }
