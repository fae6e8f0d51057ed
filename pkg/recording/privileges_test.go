package recording_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/recording"
)

// TestRotationNeedsOnlyItsFourGrants: the recorder's account holds EXECUTE on the four
// procedures by name, nothing on the mysql schema as a whole, and that is enough for
// collections that rotate: the rows of a collection are swapped out of the live table, read,
// dropped, and the stop discards what the log wrote after the last collection.
func TestRotationNeedsOnlyItsFourGrants(t *testing.T) {
	f := newFixture(t)
	rows, err := f.db.Root(t).Query("SHOW GRANTS FOR capturer")
	if err != nil {
		t.Fatal(err)
	}
	var procedures []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(g, "ON `mysql`.*") || strings.Contains(g, "ON *.*") && strings.Contains(g, "EXECUTE") {
			t.Errorf("the recorder holds %q, more than the four procedures", g)
		}
		if strings.Contains(g, "EXECUTE") {
			procedures = append(procedures, g)
		}
	}
	rows.Close()
	slices.Sort(procedures)
	want := []string{
		"GRANT EXECUTE ON PROCEDURE `mysql`.`mycrt_discard_general_log` TO `capturer`@`%`",
		"GRANT EXECUTE ON PROCEDURE `mysql`.`mycrt_drop_general_log` TO `capturer`@`%`",
		"GRANT EXECUTE ON PROCEDURE `mysql`.`mycrt_read_general_log` TO `capturer`@`%`",
		"GRANT EXECUTE ON PROCEDURE `mysql`.`mycrt_rotate_general_log` TO `capturer`@`%`",
	}
	if !slices.Equal(procedures, want) {
		t.Fatalf("EXECUTE grants:\n%s\nwant:\n%s", strings.Join(procedures, "\n"), strings.Join(want, "\n"))
	}

	countOrders := func() (n int) {
		t.Helper()
		if err := f.db.Root(t).QueryRow("SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE 'INSERT INTO orders%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	c := f.begin(t, f.newCapture(t, "four grants"))
	want = f.runOrders(t, 0, 50)
	f.settled(t)
	if n := countOrders(); n != 50 {
		t.Fatalf("the live log holds %d of the 50 statements before the collection", n)
	}
	f.collect(t, c)
	if n := countOrders(); n != 0 {
		t.Errorf("after a collection the live log still holds %d statements: it was read in place, not rotated", n)
	}
	want = append(want, f.runOrders(t, 50, 60)...)
	c = f.end(t, c) // the stop waits for its own settle time
	sameStatements(t, appStatements(f.workload(t, c)), want)
	if left := f.logTables(t, "mycrt_general_log_"); len(left) != 0 {
		t.Errorf("rotated tables left behind: %v", left)
	}
	var n int
	if err := f.db.Root(t).QueryRow("SELECT COUNT(*) FROM mysql.general_log").Scan(&n); err != nil || n != 0 {
		t.Errorf("mysql.general_log holds %d rows (%v) after the stop, want them discarded", n, err)
	}
}

// TestRotationMarkOfAnyServer: the mark that tells a redone RDS collection whether its
// rotation happened is sent as a parameter, and is found again in the backup table whatever
// the server's key holds (it carries @@hostname, which the server's owner sets): quotes,
// backslashes, SQL.
func TestRotationMarkOfAnyServer(t *testing.T) {
	f := newRDSRotationFixture(t)
	f.db.Exec(t, "SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON")
	for i, server := range []string{
		"server/plain:3306",
		`server/it's "quoted" \ with a backslash\`,
		"server/x'); DROP TABLE mysql.general_log_backup; -- ",
		"server/\x00\n\r\x1a%_",
	} {
		before, after, err := recording.MarkRoundTrip(context.Background(), f.rec, f.env, server, i+1)
		if err != nil {
			t.Fatalf("%q: %v", server, err)
		}
		if before || !after {
			t.Errorf("%q: rotation found done before it ran: %v, after: %v; want false, true", server, before, after)
		}
	}
	var n int
	if err := f.db.Root(t).QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'general_log_backup'").Scan(&n); err != nil || n != 1 {
		t.Errorf("mysql.general_log_backup: %d tables (%v), want it there", n, err)
	}
}
