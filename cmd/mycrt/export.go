package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/workload"
)

// The formats export writes.
var exportFormats = map[string]func(w *bufio.Writer) eventWriter{
	"csv":     newCSV,
	"general": newGeneralLog,
	"slow":    newSlowLog,
}

// eventWriter writes a workload's events in one format.
type eventWriter interface {
	write(e workload.Event) error
	close() error
}

func (c *cli) captureExport() *cobra.Command {
	var format, out, user, from, to string
	cmd := &cobra.Command{Use: "export ID", Short: "Write a capture's workload as CSV, or as a general or slow log for Percona Toolkit", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		newWriter, ok := exportFormats[format]
		if !ok {
			return usagef("--format %q: want csv, general or slow", format)
		}
		since, until, err := c.timeWindow(from, to)
		if err != nil {
			return err
		}
		resp, err := c.workload(cmd.Context(), id)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		sink := c.stdout
		if out != "" && out != "-" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			sink = f
		}
		buf := bufio.NewWriterSize(sink, 64<<10)
		w := newWriter(buf)
		err = workload.Each(resp.Body, func(e workload.Event) error {
			if (user != "" && e.User != user) || (!since.IsZero() && e.Time.Before(since)) || (!until.IsZero() && e.Time.After(until)) {
				return nil
			}
			return w.write(e)
		})
		if err == nil {
			err = w.close()
		}
		if err == nil {
			err = buf.Flush()
		}
		if err != nil {
			return fmt.Errorf("export capture %d: %w", id, err)
		}
		return nil
	}}
	f := cmd.Flags()
	f.StringVar(&format, "format", "csv", "csv (time, thread, user, host, command, db, sql), general (a MySQL general log file: pt-query-digest --type genlog) or slow (a slow log of the statements, their times unknown: 0)")
	f.StringVarP(&out, "output", "o", "", "the file to write (default standard output)")
	f.StringVar(&user, "user", "", "only this account's sessions")
	f.StringVar(&from, "from", "", "only from this time (RFC 3339, or local \"2006-01-02 15:04\")")
	f.StringVar(&to, "to", "", "only up to this time")
	return cmd
}

// csvWriter writes one row an event, after a header.
type csvWriter struct{ w *csv.Writer }

func newCSV(w *bufio.Writer) eventWriter {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "thread", "user", "host", "command", "db", "sql"})
	return &csvWriter{cw}
}

func (c *csvWriter) write(e workload.Event) error {
	return c.w.Write([]string{e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), strconv.FormatUint(e.Thread, 10), e.User, e.Host, e.Command, e.DB, e.SQL})
}

func (c *csvWriter) close() error { c.w.Flush(); return c.w.Error() }

// generalLog writes what MySQL 5.7 and later write to a general log file: a header, then a
// line an event (time, connection id, command, argument), which pt-query-digest reads with
// --type genlog. A prepared statement's Execute is written as the Query it ran (the log holds
// its text with the values bound), and its Prepare and Close left out: the toolkit counts only
// Query rows as statements, as the digest counts Query and Execute.
type generalLog struct{ w *bufio.Writer }

func newGeneralLog(w *bufio.Writer) eventWriter {
	w.WriteString("mysqld, Version: exported by mycrt. started with:\nTcp port: 3306  Unix socket: /tmp/mysql.sock\nTime                 Id Command    Argument\n")
	return generalLog{w}
}

func (g generalLog) write(e workload.Event) error {
	command := e.Command
	switch command {
	case "Execute":
		command = "Query"
	case "Prepare", "Close stmt", "Reset stmt":
		return nil
	}
	_, err := fmt.Fprintf(g.w, "%s\t%6d %s\t%s\n", e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Thread, command, e.SQL)
	return err
}

func (generalLog) close() error { return nil }

// slowLog writes the statements as a slow log's entries, for the tools that read only that:
// the general log records no durations, so every time is 0.
type slowLog struct {
	w  *bufio.Writer
	db map[uint64]string // the database last named for each session
}

func newSlowLog(w *bufio.Writer) eventWriter { return &slowLog{w: w, db: map[uint64]string{}} }

func (s *slowLog) write(e workload.Event) error {
	if !e.IsStatement() {
		return nil
	}
	t := e.Time.UTC()
	fmt.Fprintf(s.w, "# Time: %s\n# User@Host: %s[%s] @ %s []  Id: %d\n# Query_time: 0.000000  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0\n",
		t.Format("2006-01-02T15:04:05.000000Z"), e.User, e.User, e.Host, e.Thread)
	if e.DB != "" && s.db[e.Thread] != e.DB {
		s.db[e.Thread] = e.DB
		fmt.Fprintf(s.w, "use %s;\n", e.DB)
	}
	sql := strings.TrimRight(e.SQL, "; \t\n")
	_, err := fmt.Fprintf(s.w, "SET timestamp=%d;\n%s;\n", t.Unix(), sql)
	return err
}

func (*slowLog) close() error { return nil }
