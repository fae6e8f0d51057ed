package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

// sessions is what a server's log has told so far of each open session (by connection id): its
// current database. It carries from one collection of the server to the next, since a session
// picks its database once (at Connect, Init DB or USE) and keeps it across windows.
type sessions map[uint64]string

// apply sets e.DB to its session's database as the log tells it, and follows the changes e
// makes: Connect and Change user name the database, Init DB and USE switch it, Quit ends it.
func (s sessions) apply(e *workload.Event) {
	switch e.Command {
	case "Connect", "Change user":
		s[e.Thread] = connectDB(e.SQL)
	case "Init DB":
		s[e.Thread] = e.SQL
	case "Query":
		if db, ok := useDB(e.SQL); ok {
			s[e.Thread] = db
		}
	}
	e.DB = s[e.Thread]
	if e.Command == "Quit" {
		delete(s, e.Thread)
	}
}

// connectDB reads the database from a Connect row's argument, "user@host on db using TCP/IP"
// (MariaDB may say "as anonymous on db"); "" when the session named none.
func connectDB(arg string) string {
	_, rest, ok := strings.Cut(arg, " on ")
	if !ok {
		return ""
	}
	db, _, _ := strings.Cut(rest, " using ")
	return strings.TrimSpace(db)
}

// useDB reads the database of a USE statement: use db, USE `my db`; with comments or a
// semicolon around it.
func useDB(sql string) (string, bool) {
	s := strings.TrimSpace(stripLeadingComments(sql))
	if len(s) < 4 || !strings.EqualFold(s[:3], "use") || !isSpaceByte(s[3]) {
		return "", false
	}
	s = strings.TrimSpace(s[4:])
	s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	if strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`"), true
	}
	if s == "" || strings.ContainsAny(s, " \t\r\n;") {
		return "", false
	}
	return s, true
}

func stripLeadingComments(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "/*") {
			return s
		}
		end := strings.Index(s, "*/")
		if end < 0 {
			return s
		}
		s = s[end+2:]
	}
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// serverSessions is what server's log had told of its sessions once its collection n was
// read; as listed when recording began on it if that was at n; empty if nothing was kept.
func (r *Recorder) serverSessions(ctx context.Context, server string, n int) (sessions, error) {
	f, err := r.Blobs.Open(ctx, layout.CollectorSessionsKey(server, n))
	if errors.Is(err, blob.ErrNotFound) {
		return sessions{}, nil // databases unknown until sessions name them
	}
	if err != nil {
		return nil, fmt.Errorf("read the sessions of %s: %w", server, err)
	}
	defer f.Close()
	var raw map[string]string
	if err := json.NewDecoder(f).Decode(&raw); err != nil {
		return nil, fmt.Errorf("read the sessions of %s: %w", server, err)
	}
	s := sessions{}
	for k, db := range raw {
		if id, err := strconv.ParseUint(k, 10, 64); err == nil {
			s[id] = db
		}
	}
	return s, nil
}

func (r *Recorder) saveServerSessions(ctx context.Context, server string, n int, s sessions) error {
	raw := make(map[string]string, len(s))
	for id, db := range s {
		raw[strconv.FormatUint(id, 10)] = db
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	return r.Blobs.Put(ctx, layout.CollectorSessionsKey(server, n), bytes.NewReader(b))
}

// seedSessions keeps, as recording begins on a server nobody records yet, the current
// database of every session it lists (all of them with the PROCESS privilege, the recorder's
// own otherwise), as of its collection n: sessions that connected before and say nothing of
// their database in the log still get it.
func (r *Recorder) seedSessions(ctx context.Context, conn *conn, server string, n int) error {
	rows, err := conn.query(ctx, "SELECT ID, DB FROM information_schema.PROCESSLIST WHERE DB IS NOT NULL")
	if err != nil {
		return err
	}
	defer rows.Close()
	s := sessions{}
	for rows.Next() {
		var id uint64
		var db string
		if err := rows.Scan(&id, &db); err != nil {
			return err
		}
		s[id] = db
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return r.saveServerSessions(ctx, server, n, s)
}
