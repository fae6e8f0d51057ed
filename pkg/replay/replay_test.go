package replay_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// shopSchema is the single-session tests' starting state, on source and target alike.
var shopSchema = []string{
	"CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40), qty INT NOT NULL DEFAULT 1)",
	"CREATE TABLE shop.stock (item VARCHAR(40) PRIMARY KEY, left_ INT NOT NULL)",
	"INSERT INTO shop.stock VALUES ('apple', 100), ('pear', 50), ('fig', 10)",
}

// checksums is CHECKSUM TABLE of every table of shop.
func checksums(t testing.TB, s *mysqltest.Server) map[string]int64 {
	t.Helper()
	db := s.Root(t)
	rows, err := db.Query("SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_schema IN ('shop', 'archive') ORDER BY table_name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string]int64{}
	for _, name := range tables {
		var table string
		var sum sql.NullInt64
		if err := db.QueryRow("CHECKSUM TABLE "+name).Scan(&table, &sum); err != nil {
			t.Fatal(err)
		}
		out[name] = sum.Int64
	}
	return out
}

// singleSession is one application session's work: plain statements, a transaction
// committed and one rolled back, a prepared statement executed with parameters, a database
// switch, and a table created on the way.
func singleSession(t testing.TB, s *mysqltest.Server) {
	t.Helper()
	ctx := context.Background()
	db := s.As(t, "app", "app-secret", "shop")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	run := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := range 20 {
		run(fmt.Sprintf("INSERT INTO orders (id, item) VALUES (%d, 'item %d')", i, i))
	}
	run("BEGIN")
	run("UPDATE stock SET left_ = left_ - 3 WHERE item = 'apple'")
	run("UPDATE orders SET qty = qty + 2 WHERE id < 5")
	run("COMMIT")
	run("START TRANSACTION")
	run("DELETE FROM orders")
	run("ROLLBACK")
	for i := 20; i < 30; i++ {
		run("INSERT INTO orders (id, item, qty) VALUES (?, ?, ?)", i, fmt.Sprintf("prepared %d", i), i%7) // server-side prepared
	}
	run("CREATE TABLE notes (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT)")
	run("INSERT INTO notes (body) VALUES ('first'), ('second')")
	run("USE archive")
	run("CREATE TABLE old_orders (id INT PRIMARY KEY)")
	run("INSERT INTO old_orders SELECT id FROM shop.orders WHERE id < 10")
	run("UPDATE shop.stock SET left_ = left_ + 1")
	run("USE shop")
	run("DELETE FROM orders WHERE id % 3 = 0")
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
}

// TestSingleSessionLeavesTheSourcesTables: a single-session capture replayed onto a copy of
// the source's starting state leaves every table as the source had it at the capture's end.
func TestSingleSessionLeavesTheSourcesTables(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shopSchema...)
	start := f.dump(t)
	c := f.record(t, func() { singleSession(t, f.src) })
	want := checksums(t, f.src)
	if len(want) != 4 {
		t.Fatalf("the source has tables %v, want orders, stock, notes and old_orders", want)
	}
	target, env := f.target(t, start)
	if got := checksums(t, target); fmt.Sprint(got) == fmt.Sprint(want) {
		t.Fatalf("the target starts where the source ended (%v): the test proves nothing", got)
	}
	out := f.replay(t, c, env, options{})
	if out.err != nil {
		t.Fatal(out.err)
	}
	if out.plan.Sessions != 1 || out.plan.Statements < 40 {
		t.Fatalf("plan %+v: want 1 session of the 40-odd statements", out.plan)
	}
	for _, rec := range out.outcomes {
		if rec.Errno != 0 {
			t.Errorf("statement %d: error %d %s", rec.Seq, rec.Errno, rec.Message)
		}
	}
	if int64(len(out.outcomes)) != out.plan.Statements {
		t.Errorf("%d outcomes of %d statements", len(out.outcomes), out.plan.Statements)
	}
	t.Logf("plan %+v, %d outcomes, checksums %v", out.plan, len(out.outcomes), want)
	if got := checksums(t, target); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("target's checksums %v, the source's at the capture's end %v", got, want)
	}
}
