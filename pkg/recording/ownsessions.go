package recording

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/workload"
)

// read streams rot's rows to dispatch, one row at a time, leaving out RDS's own sessions and
// the recorder's own: those registered around the rows read, from since (the readers' last
// collection) less ownSessionsLag. The recorder's are known by connection id, registered in
// the store straight after a session sends registerQuery. Rows whose session is not known yet are held
// until it is: a Connect row until its session's next row, and the rows of a session that
// sent registerQuery in this very read until the end, when the store says whether it
// registered (an application may send the same text; its rows are then recorded).
func (r *Recorder) read(ctx context.Context, conn *conn, src source, rot lease.Collection, since time.Time, dispatch func(...workload.Event) error) error {
	registered := func() (map[uint64]bool, error) {
		ids, err := r.Store.OwnSessions(ctx, conn.server, since.Add(-ownSessionsLag), r.now().Add(ownSessionsLag))
		own := make(map[uint64]bool, len(ids))
		for _, id := range ids {
			own[id] = true
		}
		return own, err
	}
	own, err := registered()
	if err != nil {
		return err
	}
	rows, err := r.rows(ctx, conn, src, rot)
	if err != nil {
		return err
	}
	defer rows.Close()
	held := map[uint64][]workload.Event{}
	announced := map[uint64]bool{}
	var (
		ev       workload.Event
		unix     sql.RawBytes
		userHost sql.RawBytes
		command  sql.RawBytes
		argument sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&unix, &userHost, &ev.Thread, &command, &argument); err != nil {
			return err
		}
		if own[ev.Thread] || strings.HasPrefix(string(userHost), "rdsadmin[") {
			continue
		}
		if ev.Time, err = parseUnix(unix); err != nil {
			return err
		}
		ev.User, ev.Host = splitUserHost(string(userHost))
		ev.Command, ev.SQL = string(command), string(argument)
		t := ev.Thread
		switch {
		case announced[t] && len(held[t]) < maxHeld:
			held[t] = append(held[t], ev)
		case ev.Command == "Query" && ev.SQL == marker+registerQuery && !announced[t]:
			announced[t] = true
			held[t] = append(held[t], ev)
		case ev.Command == "Connect":
			if err := dispatch(held[t]...); err != nil {
				return err
			}
			held[t] = []workload.Event{ev}
		default:
			// Held rows of a session that turned out to be an application's go first.
			if err := dispatch(held[t]...); err != nil {
				return err
			}
			delete(held, t)
			delete(announced, t)
			if err := dispatch(ev); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(held) == 0 {
		return nil
	}
	// A session that announced itself is the recorder's if it registers, which it does at
	// once: wait a moment for those that have not yet. The wait is the process's own, on the
	// wall clock, not the recorder's (Now), which only stamps what is stored.
	deadline := time.Now().Add(ownSessionWait)
	for {
		if own, err = registered(); err != nil {
			return err
		}
		waiting := false
		for t := range announced {
			waiting = waiting || !own[t]
		}
		if !waiting || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var rest []workload.Event
	for t, events := range held {
		if !own[t] {
			rest = append(rest, events...)
		}
	}
	slices.SortStableFunc(rest, func(a, b workload.Event) int { return a.Time.Compare(b.Time) })
	return dispatch(rest...)
}

// ownSessionsLag is how far around a collection's window it looks for the recorder's own
// sessions: far more than a session lives, or the worker's clock and the server's differ.
const ownSessionsLag = time.Hour

// ownSessionWait is how long a collection waits, at the end of its read, for sessions that
// announced themselves as the recorder's to register.
const ownSessionWait = 2 * time.Second

// maxHeld bounds the rows held for a session that announced itself as the recorder's: the
// recorder's sessions register before anything else, so one that goes on for longer than this
// is an application's, and its rows are recorded as they come.
const maxHeld = 1000
