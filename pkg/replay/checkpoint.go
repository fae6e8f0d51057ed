package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// handoff is what a Checkpoint holds: when the invocation that wrote it stopped starting
// statements (its cut), and how many of each shard session's steps had been done by then
// (sent, skipped, or done by an earlier invocation). Everything else a session needs to go on
// (its database, the settings to set again, what it lost) is read from the shard's steps
// before those positions. Statements and Errors are the shard's counts at the cut, over every
// invocation so far: what the next one's counts begin from.
type handoff struct {
	Cut                time.Time
	Positions          []int
	Statements, Errors int64
}

const checkpointMagic = "MYCRTC2\n"

// errCheckpoint is returned for a checkpoint this package did not write.
var errCheckpoint = errors.New("not a replay checkpoint")

func (h handoff) encode() Checkpoint {
	b := append([]byte(nil), checkpointMagic...)
	b = binary.AppendVarint(b, h.Cut.UnixMicro())
	b = binary.AppendUvarint(b, uint64(h.Statements))
	b = binary.AppendUvarint(b, uint64(h.Errors))
	b = binary.AppendUvarint(b, uint64(len(h.Positions)))
	for _, p := range h.Positions {
		b = binary.AppendUvarint(b, uint64(p))
	}
	return b
}

// decodeCheckpoint reads cp for a shard of sessions sessions; a nil cp (invocation 0) is the
// start of every session.
func decodeCheckpoint(cp Checkpoint, sessions int) (handoff, error) {
	h := handoff{Positions: make([]int, sessions)}
	if cp == nil {
		return h, nil
	}
	if len(cp) < len(checkpointMagic) || string(cp[:len(checkpointMagic)]) != checkpointMagic {
		return h, errCheckpoint
	}
	b := cp[len(checkpointMagic):]
	cut, n := binary.Varint(b)
	if n <= 0 {
		return h, errCheckpoint
	}
	b = b[n:]
	h.Cut = time.UnixMicro(cut).UTC()
	for _, c := range []*int64{&h.Statements, &h.Errors} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return h, errCheckpoint
		}
		b = b[n:]
		*c = int64(v)
	}
	count, n := binary.Uvarint(b)
	if n <= 0 || count != uint64(sessions) {
		return h, fmt.Errorf("%w: %d sessions, the shard has %d", errCheckpoint, count, sessions)
	}
	b = b[n:]
	for i := range h.Positions {
		p, n := binary.Uvarint(b)
		if n <= 0 {
			return h, errCheckpoint
		}
		b = b[n:]
		h.Positions[i] = int(p)
	}
	return h, nil
}
