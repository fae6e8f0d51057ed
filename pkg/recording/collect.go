package recording

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
)

// splitUserHost reads user_host, "priv_user[user] @ host [ip]": the account is the privileged
// user, or, on rows written before it is known (Connect), the user the client asked to be.
func splitUserHost(s string) (user, host string) {
	u, h, _ := strings.Cut(s, " @ ")
	if priv, asked, ok := strings.Cut(u, "["); ok {
		u = priv
		if u == "" {
			u = strings.TrimSuffix(asked, "]")
		}
	}
	if i := strings.IndexByte(h, '['); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(u), strings.TrimSpace(h)
}

// collect writes the log rows in (c's watermark, upTo] as c's next fragment and moves the
// watermark to upTo. The fragment's key depends only on how many came before it, so a
// collection that died before moving the watermark is redone over the same key, never beside it.
func (r *Recorder) collect(ctx context.Context, conn *conn, c capture.Capture, upTo time.Time) (capture.Workload, error) {
	from := c.Workload
	if !upTo.After(from.Watermark) {
		return from, nil
	}
	spool, err := os.CreateTemp(r.TempDir, "fragment-*.jsonl.gz")
	if err != nil {
		return from, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	// The digest goes on from the one kept with the last fragment, and is kept with this one.
	dg, err := r.digestAsOf(ctx, c, from.Fragments)
	if err != nil {
		return from, err
	}
	// So do the sessions' databases.
	ss, err := r.sessionsAsOf(ctx, c, from.Fragments)
	if err != nil {
		return from, err
	}
	events, statements, err := r.readLog(ctx, conn, from.Watermark, upTo, spool, dg, ss, c.Filters)
	if err != nil {
		return from, fmt.Errorf("collect the general log of capture %d: %w", c.ID, err)
	}
	to := from
	to.Watermark = upTo
	if events > 0 {
		size, err := spool.Seek(0, io.SeekCurrent)
		if err != nil {
			return from, err
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return from, err
		}
		to.Collected += size
		if err := r.Blobs.Put(ctx, capture.FragmentKey(c, from.Fragments), spool); err != nil {
			return from, err
		}
		if err := digest.Save(ctx, r.Blobs, capture.DigestStateKey(c, from.Fragments), dg); err != nil {
			return from, err
		}
		if err := r.saveSessions(ctx, capture.SessionsKey(c, from.Fragments), ss); err != nil {
			return from, err
		}
		to.Fragments++
		to.Statements += statements
	}
	if err := r.Store.SaveWorkload(ctx, c.ID, from, to); err != nil {
		return from, err
	}
	r.logger().InfoContext(ctx, "collected", "capture_id", c.ID, "events", events, "statements", statements,
		"watermark", upTo.Format(time.RFC3339Nano))
	return to, nil
}

// digestAsOf is c's digest before its fragment n: the one kept with fragment n-1.
func (r *Recorder) digestAsOf(ctx context.Context, c capture.Capture, n int) (*digest.State, error) {
	if n == 0 {
		return digest.New(), nil
	}
	dg, _, err := digest.LoadFragment(ctx, r.Blobs, c, n-1)
	if err != nil {
		return nil, fmt.Errorf("read the digest of capture %d: %w", c.ID, err)
	}
	return dg, nil
}

// ownSessionsLag is how far back a collection looks for the recorder's own sessions: far more
// than a session lives, or the worker's clock and the server's differ.
const ownSessionsLag = time.Hour

// ownSessions lists the recorder's own connections that may have rows in (after, upTo]. A
// session registers right after it sends registerQuery; one whose registerQuery is in the
// window but that is not registered yet is waited for a moment, and if it still is not, its
// rows count as anyone's: a session that only wrote the query text is not the recorder's.
func (r *Recorder) ownSessions(ctx context.Context, conn *conn, after, upTo time.Time) ([]uint64, error) {
	rows, err := conn.query(ctx, `SELECT DISTINCT thread_id FROM `+r.logTable()+`
WHERE event_time > `+unixLiteral(after)+` - INTERVAL 1 MINUTE AND event_time <= `+unixLiteral(upTo)+` AND argument = ?`, marker+registerQuery)
	if err != nil {
		return nil, err
	}
	announced := map[uint64]bool{}
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		announced[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		own, err := r.Store.OwnSessions(ctx, conn.server, after.Add(-ownSessionsLag), r.now().Add(ownSessionsLag))
		if err != nil {
			return nil, err
		}
		waiting := 0
		registered := map[uint64]bool{}
		for _, id := range own {
			registered[id] = true
		}
		for id := range announced {
			if !registered[id] {
				waiting++
			}
		}
		if waiting == 0 || time.Now().After(deadline) {
			return own, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readLog streams the general log rows in (after, upTo] into w as gzip JSON Lines, and their
// statements into dg, leaving out RDS's own sessions and the recorder's own, by connection id.
// Each row gets its session's database from ss, which follows the rows, and is kept only if its
// session passes filters. It holds one row at a time.
func (r *Recorder) readLog(ctx context.Context, conn *conn, after, upTo time.Time, w io.Writer, dg *digest.State, ss sessions, filters capture.Filters) (events, statements int64, err error) {
	own, err := r.ownSessions(ctx, conn, after, upTo)
	if err != nil {
		return 0, 0, err
	}
	notOwn := ""
	if len(own) > 0 {
		ids := make([]string, len(own))
		for i, id := range own {
			ids[i] = strconv.FormatUint(id, 10) // digits only: safe in the statement
		}
		notOwn = "\n  AND thread_id NOT IN (" + strings.Join(ids, ",") + ")"
	}
	rows, err := conn.query(ctx, `SELECT UNIX_TIMESTAMP(event_time), user_host, thread_id, command_type, argument
FROM `+r.logTable()+`
WHERE event_time > `+unixLiteral(after)+` AND event_time <= `+unixLiteral(upTo)+`
  AND user_host NOT LIKE 'rdsadmin[%'`+notOwn+`
ORDER BY event_time`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	buf := bufio.NewWriterSize(w, 64<<10)
	gz, err := gzip.NewWriterLevel(buf, gzip.BestSpeed)
	if err != nil {
		return 0, 0, err
	}
	enc := json.NewEncoder(gz)
	enc.SetEscapeHTML(false)
	folder := digestFolder(dg)
	defer folder.wait()
	var (
		ev       capture.Event
		unix     sql.RawBytes
		userHost sql.RawBytes
		command  sql.RawBytes
		argument sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&unix, &userHost, &ev.Thread, &command, &argument); err != nil {
			return 0, 0, err
		}
		if ev.Time, err = parseUnix(unix); err != nil {
			return 0, 0, err
		}
		ev.User, ev.Host = splitUserHost(string(userHost))
		ev.Command, ev.SQL = string(command), string(argument)
		ss.apply(&ev)
		if !filters.Keeps(ev.User, ev.DB) {
			continue
		}
		if err := enc.Encode(&ev); err != nil {
			return 0, 0, err
		}
		events++
		if ev.IsStatement() {
			statements++
			folder.add(ev)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	folder.wait()
	if err := gz.Close(); err != nil {
		return 0, 0, err
	}
	return events, statements, buf.Flush()
}

// assemble writes c's workload file, its fragments one after another, and its final digest. Each fragment is a
// whole gzip member, and a gzip file may hold several, so nothing is decompressed. Then the
// fragments are removed; a repeat after a crash finds the file recorded and skips all this.
func (r *Recorder) assemble(ctx context.Context, c capture.Capture) error {
	var size int64
	if c.Workload.Fragments == 0 {
		// An empty window still gets a file, a valid empty gzip stream.
		var empty bytes.Buffer
		if err := gzip.NewWriter(&empty).Close(); err != nil {
			return err
		}
		size = int64(empty.Len())
		if err := r.Blobs.Put(ctx, capture.WorkloadKey(c), bytes.NewReader(empty.Bytes())); err != nil {
			return err
		}
	} else {
		keys := make([]string, c.Workload.Fragments)
		for n := range keys {
			keys[n] = capture.FragmentKey(c, n)
		}
		// Streamed where the files are (parts of a multipart upload on S3): the workload can
		// be far larger than the worker's disk.
		var err error
		if size, err = r.Blobs.Concat(ctx, capture.WorkloadKey(c), keys); err != nil {
			return fmt.Errorf("assemble the workload of capture %d: %w", c.ID, err)
		}
	}
	dg, err := r.digestAsOf(ctx, c, c.Workload.Fragments)
	if err != nil {
		return err
	}
	if err := digest.Save(ctx, r.Blobs, capture.DigestKey(c), dg); err != nil {
		return err
	}
	to := c.Workload
	to.Bytes = size
	if err := r.Store.SaveWorkload(ctx, c.ID, c.Workload, to); err != nil {
		return err
	}
	if err := r.Blobs.DeletePrefix(ctx, capture.FragmentsPrefix(c)); err != nil {
		r.logger().WarnContext(ctx, "fragments left behind", "capture_id", c.ID, "error", err.Error())
	}
	r.logger().InfoContext(ctx, "workload written", "capture_id", c.ID, "bytes", size,
		"statements", to.Statements, "fragments", to.Fragments)
	return nil
}

// folder folds statements into a digest on another goroutine, in batches, so that fingerprinting
// runs beside reading, encoding and compressing the log instead of after each row.
type folder struct {
	batches chan []capture.Event
	batch   []capture.Event
	done    chan struct{}
	waited  bool
}

const foldBatch = 256

func digestFolder(dg *digest.State) *folder {
	f := &folder{batches: make(chan []capture.Event, 8), batch: make([]capture.Event, 0, foldBatch), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for b := range f.batches {
			for _, e := range b {
				dg.AddEvent(e)
			}
		}
	}()
	return f
}

func (f *folder) add(e capture.Event) {
	f.batch = append(f.batch, e)
	if len(f.batch) == foldBatch {
		f.batches <- f.batch
		f.batch = make([]capture.Event, 0, foldBatch)
	}
}

// wait hands on what is left and returns once everything is folded; calling it again does
// nothing.
func (f *folder) wait() {
	if f.waited {
		return
	}
	f.waited = true
	if len(f.batch) > 0 {
		f.batches <- f.batch
	}
	close(f.batches)
	<-f.done
}
