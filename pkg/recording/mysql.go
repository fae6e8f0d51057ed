// Package recording turns a database's workload recording on and off. For now it proves the
// environment's database can be reached with its credentials; the general-log capture plugs
// into the same Begin and End.
package recording

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/capture"
)

// opener opens a sealed database password.
type opener interface {
	Open(ctx context.Context, envID int64, sealed string) (string, error)
}

// MySQL records MySQL and MariaDB databases.
type MySQL struct {
	Secrets opener
	Timeout time.Duration // for connecting; 5 s when zero
}

func (m *MySQL) connect(ctx context.Context, env capture.Environment) (*sql.DB, error) {
	pass := ""
	if env.SealedPassword != "" {
		var err error
		if pass, err = m.Secrets.Open(ctx, env.ID, env.SealedPassword); err != nil {
			return nil, fmt.Errorf("cannot read the password of environment %d", env.ID)
		}
	}
	timeout := m.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = env.User, pass, env.DBName
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(env.Host, strconv.Itoa(env.Port))
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, 30*time.Second, 30*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot connect to %s as %s: %w", cfg.Addr, env.User, err)
	}
	return db, nil
}

// Begin checks that the environment's database accepts the environment's credentials.
func (m *MySQL) Begin(ctx context.Context, env capture.Environment, c capture.Capture) error {
	db, err := m.connect(ctx, env)
	if err != nil {
		return err
	}
	return db.Close()
}

// End finishes a capture's recording; there is nothing to collect yet.
func (m *MySQL) End(ctx context.Context, env capture.Environment, c capture.Capture) error {
	return nil
}
