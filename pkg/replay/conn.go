package replay

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// send runs st on the session's connection: its rows returned, or affected.
func (s *live) send(st *step) (int64, error) {
	s.busy.Store(true)
	defer s.busy.Store(false)
	ctx := context.Background() // not watched by the driver: see interrupt
	if st.flags&flagRows == 0 {
		res, err := s.conn.(driver.ExecerContext).ExecContext(ctx, st.sql, nil)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		return n, nil
	}
	rows, err := s.conn.(driver.QueryerContext).QueryContext(ctx, st.sql, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for {
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			err := rows.Next(dest)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			n++
		}
		more, ok := rows.(driver.RowsNextResultSet)
		if !ok || !more.HasNextResultSet() {
			return n, nil
		}
		if err := more.NextResultSet(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}

// connect opens the session's connection in database db, within the shard's share of
// connections (waiting for one counts as the statement's lateness), read-only in read-only
// mode; a session taken over from the invocation before sends its SET statements again.
func (s *live) connect(db uint32) error {
	run := s.run
	if !s.hasSlot {
		select {
		case run.slots <- struct{}{}:
			s.hasSlot = true
		case <-run.stopC:
			return errors.New("the replay stopped")
		case <-run.sessCtx.Done():
			return run.sessCtx.Err()
		}
	}
	connector, err := run.connector(run.sessCtx, db)
	if err == nil {
		s.conn, err = connector.Connect(context.WithValue(run.sessCtx, liveKey{}, s))
	}
	if err != nil {
		s.release()
		return err
	}
	s.connDB = db
	if run.readOnly {
		if _, err := s.conn.(driver.ExecerContext).ExecContext(context.Background(), "SET SESSION TRANSACTION READ ONLY", nil); err != nil {
			s.close()
			why := "the connection to the target was lost"
			var me *mysql.MySQLError
			if errors.As(err, &me) {
				why = me.Message // the server's own words, never an address
			}
			return &mysql.MySQLError{Number: errReadOnlyOn, Message: "the session could not be made read-only: " + why}
		}
	}
	return nil
}

// takeOver re-establishes on the new connection what it can of the session the invocation
// before had open, and counts what it cannot.
func (s *live) takeOver() {
	run := s.run
	run.restored.Add(1)
	for _, q := range s.restore {
		if _, err := s.conn.(driver.ExecerContext).ExecContext(context.Background(), restoreMarker+q, nil); err != nil {
			run.r.log().Debug("a session's setting was not set again", "session", s.ordinal, "error", err.Error())
		}
	}
	if s.lostTemp {
		run.lostTemp.Add(1)
	}
	if s.lostVar {
		run.lostVars.Add(1)
	}
	s.restore, s.takeover = nil, false
}

// use switches the session's connection to database db.
func (s *live) use(db uint32) {
	name := s.run.head.DBs[db]
	q := "USE `" + strings.ReplaceAll(name, "`", "``") + "`"
	if _, err := s.conn.(driver.ExecerContext).ExecContext(context.Background(), q, nil); err != nil {
		s.run.r.log().Debug("a session's database was not switched", "session", s.ordinal, "error", err.Error())
		if !isServerError(err) {
			s.close()
		}
		return
	}
	s.connDB = db
}

func (s *live) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.mu.Lock()
	s.raw = nil
	s.mu.Unlock()
	s.release()
}

func (s *live) release() {
	if s.hasSlot {
		<-s.run.slots
		s.hasSlot = false
	}
}

func isServerError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number < 2000
}

// failure is what an outcome keeps of err: the server's error number and message as the
// server gave them, or for a failure of the client's (no connection, a broken one) the client
// error number otherwise and a fixed text, so that no address or driver detail reaches the
// replay's readers.
func failure(err error, otherwise uint16) (uint16, string) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, me.Message
	}
	if otherwise == errConnect {
		return otherwise, "could not connect to the target"
	}
	return otherwise, "the connection to the target was lost"
}
