package recording

import (
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/mycrt/captures/pkg/lease"
)

// RotationProcedures is the SQL a DBA runs once on a server (as root) so that collections
// rotate its general log instead of reading the whole table each time; the README shows how.
//
//go:embed rotation.sql
var RotationProcedures string

// source is how a server's new log rows are set aside and read.
type source int

const (
	// inPlace reads the live table by time: correct everywhere, but each read examines the
	// whole table.
	inPlace source = iota
	// ownRotation swaps the rows into mysql.mycrt_general_log_<n> through RotationProcedures,
	// reads that table and drops it.
	ownRotation
	// rdsRotation calls RDS's mysql.rds_rotate_general_log, which moves the rows into
	// mysql.general_log_backup (dropping the previous backup), and reads that table.
	rdsRotation
)

func (s source) String() string {
	return [...]string{"in place", "rotation", "RDS rotation"}[s]
}

const (
	rdsBackupTable = "mysql.general_log_backup"
	errSignal      = 1644 // SIGNAL: mycrt_read_general_log found no table
)

// logSource finds how this server's log can be collected: through our procedures if the DBA
// installed them (and the user may run them), else RDS's, else in place. A recorder told to
// read another table reads it in place.
func (r *Recorder) logSource(ctx context.Context, c *conn) (source, error) {
	if r.LogTable != "" {
		return inPlace, nil
	}
	rows, err := c.query(ctx, `SELECT ROUTINE_NAME FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME IN ('mycrt_rotate_general_log', 'rds_rotate_general_log')`)
	if err != nil {
		return inPlace, fmt.Errorf("look for the rotation procedures: %w", err)
	}
	defer rows.Close()
	found := inPlace
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return inPlace, err
		}
		switch {
		case name == "mycrt_rotate_general_log":
			found = ownRotation
		case found == inPlace:
			found = rdsRotation
		}
	}
	return found, rows.Err()
}

// rotationTable names the table collection n swaps its rows into.
func (s source) rotationTable(n int) string {
	switch s {
	case ownRotation:
		return "mysql.mycrt_general_log_" + strconv.Itoa(n)
	case rdsRotation:
		return rdsBackupTable
	}
	return ""
}

// rotationMark is the text of a statement (DO ?) the collector sends just before RDS's
// rotation n of server, so that a collector redoing n can tell whether the rotation happened:
// the backup table then holds it. It names the server by a digest of its key, which holds
// what the server says of itself (@@hostname): the mark is letters, digits and spaces only,
// so the statement the log keeps is the same whatever the driver's escaping.
func rotationMark(server string, n int) string {
	sum := sha256.Sum256([]byte(server))
	return fmt.Sprintf("mycrt rotation %d of %s", n, hex.EncodeToString(sum[:12]))
}

// markStatement is the statement that carries mark as the general log keeps it: the driver
// interpolates the parameter (InterpolateParams), quoted, after the recorder's marker.
func markStatement(mark string) string { return marker + "DO '" + mark + "'" }

// keep sets aside the rows the live table holds as recording begins on a server (rows that
// are the DBA's, not any capture's), so that no collection reads or drops them: under our
// procedures as mysql.general_log_kept_<time>; RDS's rotation moves them to its backup table,
// as its own daily rotation does. Nothing is done when the table is empty.
func (c *conn) keep(ctx context.Context, src source) error {
	if src == inPlace {
		return nil
	}
	var one int
	err := c.queryRow(ctx, "SELECT 1 FROM mysql.general_log LIMIT 1", nil, &one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look at the general log table: %w", err)
	}
	if src == ownRotation {
		err = c.exec(ctx, "CALL mysql.mycrt_rotate_general_log(0)")
	} else {
		err = c.exec(ctx, "CALL mysql.rds_rotate_general_log")
	}
	if err != nil {
		return fmt.Errorf("set aside the rows the general log held before recording: %w", err)
	}
	return nil
}

// swap moves the rows logged since the last collection into rot's table, atomically: writers
// wait on the table's lock and then write into the new one.
func (c *conn) swap(ctx context.Context, src source, server string, rot lease.Collection) error {
	var err error
	switch src {
	case ownRotation:
		err = c.exec(ctx, "CALL mysql.mycrt_rotate_general_log(?)", rot.N)
	case rdsRotation:
		if err = c.exec(ctx, "DO ?", rotationMark(server, rot.N)); err == nil {
			err = c.exec(ctx, "CALL mysql.rds_rotate_general_log")
		}
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotate the general log: %w", err)
	}
	return nil
}

// swapped reports whether rot's swap happened: a collector that died after claiming it may or
// may not have got there.
func (c *conn) swapped(ctx context.Context, src source, server string, rot lease.Collection) (bool, error) {
	switch src {
	case ownRotation:
		rows, err := c.query(ctx, "CALL mysql.mycrt_read_general_log(?)", rot.N)
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == errSignal {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, rows.Close()
	case rdsRotation:
		var one int
		err := c.queryRow(ctx, "SELECT 1 FROM "+rdsBackupTable+" WHERE argument = ? LIMIT 1",
			[]any{markStatement(rotationMark(server, rot.N))}, &one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	return true, nil
}

// rows reads rot's rows: the rotated table whole, in the order they were logged (a sort would
// make the server read them twice), or the live table's range in time order.
func (r *Recorder) rows(ctx context.Context, c *conn, src source, rot lease.Collection) (*sql.Rows, error) {
	const columns = "UNIX_TIMESTAMP(event_time), user_host, thread_id, command_type, argument"
	switch src {
	case ownRotation:
		return c.query(ctx, "CALL mysql.mycrt_read_general_log(?)", rot.N)
	case rdsRotation:
		return c.query(ctx, "SELECT "+columns+" FROM "+rdsBackupTable)
	}
	return c.query(ctx, "SELECT "+columns+" FROM "+r.logTable()+
		"\nWHERE event_time > "+unixLiteral(rot.From)+" AND event_time <= "+unixLiteral(rot.UpTo)+"\nORDER BY event_time")
}

// drop removes rot's table once every reader's share of it is stored. RDS's backup stays until
// its next rotation drops it.
func (c *conn) drop(ctx context.Context, src source, rot lease.Collection) error {
	if src != ownRotation {
		return nil
	}
	if err := c.exec(ctx, "CALL mysql.mycrt_drop_general_log(?)", rot.N); err != nil {
		return fmt.Errorf("drop the rotated general log %s: %w", src.rotationTable(rot.N), err)
	}
	return nil
}

// sourceOf is how a pending collection was made, from the table it named.
func sourceOf(rot lease.Collection) source {
	switch {
	case rot.Table == "":
		return inPlace
	case rot.Table == rdsBackupTable:
		return rdsRotation
	}
	return ownRotation
}

// RotationGrants are the statements that let account ('capturer'@'%', as GRANT names it) run
// the rotation procedures, and nothing else of the mysql schema: EXECUTE on each procedure
// RotationProcedures creates, by name. They are run after the procedures are installed, and
// again after a reinstall, since dropping a procedure drops the grants on it.
func RotationGrants(account string) []string {
	var out []string
	for _, st := range RotationStatements() {
		if name, ok := strings.CutPrefix(st, "CREATE PROCEDURE "); ok {
			name, _, _ = strings.Cut(name, "(")
			out = append(out, "GRANT EXECUTE ON PROCEDURE "+name+" TO "+account)
		}
	}
	return out
}

// RotationStatements splits RotationProcedures into the statements a driver sends one by one,
// following its DELIMITER lines as the mysql client does.
func RotationStatements() []string {
	var (
		out   []string
		cur   strings.Builder
		delim = ";"
	)
	for _, line := range strings.Split(RotationProcedures, "\n") {
		trimmed := strings.TrimSpace(line)
		if d, ok := strings.CutPrefix(trimmed, "DELIMITER "); ok {
			delim = strings.TrimSpace(d)
			continue
		}
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--")) {
			continue
		}
		if last, ok := strings.CutSuffix(trimmed, delim); ok {
			cur.WriteString(last)
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return out
}
