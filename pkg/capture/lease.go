package capture

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Lease is the hold that captures have on one thing whose general log they switch on: a
// database server, known by its own identity (however environments name its host), or an RDS
// parameter group, shared by every instance that uses it. The first holder keeps the settings
// it found; they are kept until the restore that puts them back has succeeded, however often it
// fails first, so the log is never left on by a stop that could not reach the database.
type Lease struct {
	Key     string            // "server/<identity>" or "rds-parameter-group/<name>"
	Holders []int64           // the captures recording through it
	Before  map[string]string // the settings found before the first holder; nil once restored
	Via     []int64           // environments that reached it, to reach it again for a restore
	// RestorePending is set when the last holder left and the settings have not been put back
	// yet; LastError says why the last attempt failed, Attempts how many failed.
	RestorePending bool
	LastError      string
	Attempts       int
	Restores       int // restores ever claimed: a hold checks that none began since it read the settings
	Updated        time.Time
}

// Idle reports whether nothing holds the lease and nothing is left to restore.
func (l Lease) Idle() bool { return len(l.Holders) == 0 && l.Before == nil }

// RDSLeaseKey is the lease of an RDS parameter group: changing it changes every instance that
// uses it, so it is held by name.
func RDSLeaseKey(group string) string { return "rds-parameter-group/" + group }

// ServerLeaseKey is the lease of a server that identifies itself as identity.
func ServerLeaseKey(identity string) string { return "server/" + identity }

// MariaDBIdentity is how a MariaDB server, which has no server_uuid, is known: its server id,
// host name and port, as the server itself reports them.
func MariaDBIdentity(serverID int64, hostname string, port int) string {
	return "mariadb/" + net.JoinHostPort(strings.ToLower(hostname), strconv.Itoa(port)) + "/" + strconv.FormatInt(serverID, 10)
}

// MySQLIdentity is how a MySQL server is known: its server_uuid.
func MySQLIdentity(uuid string) string { return "mysql/" + strings.ToLower(uuid) }
