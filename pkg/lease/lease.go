// Package lease is the model of what captures share on a database server: the general log
// lease that keeps the settings found until they are restored, the server's collection that
// reads its log once for every capture, and the groups of environments proven to reach one
// server. It knows no storage or database; package store keeps these and package recording
// acts on them.
package lease

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lease is the hold that captures have on one thing whose general log they switch on: a
// database server, known by proof (a ServerGroup: however environments name its host, and
// whatever identity another server claims), or an RDS
// parameter group, shared by every instance that uses it. The first holder keeps the settings
// it found; they are kept until the restore that puts them back has succeeded, however often it
// fails first, so the log is never left on by a stop that could not reach the database.
type Lease struct {
	Key     string            // ServerGroup.Server() or RDSKey(name)
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

// RDSKey is the lease of an RDS parameter group: changing it changes every instance that
// uses it, so it is held by name.
func RDSKey(group string) string { return "rds-parameter-group/" + group }

// ServerKey is the key of server name: a ServerGroup's claim and number (see Server). The
// bare claim named servers before they were proven, and keys of that age are still read.
func ServerKey(name string) string { return "server/" + name }

// MariaDBClaim is the identity a MariaDB server, which has no server_uuid, claims: its server
// id, host name and port, as it reports them (two servers on one machine claim the same).
func MariaDBClaim(serverID int64, hostname string, port int) string {
	return "mariadb/" + net.JoinHostPort(strings.ToLower(hostname), strconv.Itoa(port)) + "/" + strconv.FormatInt(serverID, 10)
}

// MySQLClaim is the identity a MySQL server claims: its server_uuid.
func MySQLClaim(uuid string) string { return "mysql/" + strings.ToLower(uuid) }

// ServerGroup is the environments proven to reach one server among those whose servers claim
// one identity. What a server says it is (its claim) is only where the search starts: two
// servers can claim the same identity, by accident (MariaDB twins on one host) or on purpose
// (MySQL's server_uuid is settable), so environments share a server's lease, collection and
// sessions only once each has proven, over its own connection, that it reaches the same server
// as a member of the group. A server's key (ServerKey) names the group, not the claim.
type ServerGroup struct {
	Claim string  // the identity the server claims (MySQLClaim or MariaDBClaim)
	ID    string  // names the group among the claim's: its owner's, numbered (GroupID)
	Envs  []int64 // the environments proven to reach it
	// Founder is the environment that founded it: while a member, the one every other member
	// proves itself against, whenever it connects.
	Founder int64
	// Unproven are the claim's groups this one could not be told apart from when it was
	// founded (their members could not be reached): they may be the same server, so neither
	// restores that server's log while the other holds it.
	Unproven []string
}

// Server is the key of the group's server, as its lease, collection and sessions are keyed.
func (g ServerGroup) Server() string { return ServerKey(g.Claim + groupSep + g.ID) }

// GroupID names an owner's nth group of a claim. Environments share a server only with
// environments of the same owner (the user who created them): another user cannot make their
// environment a member of yours, whatever their server answers, nor be taken for your server's
// peer.
func GroupID(owner string, n int) string { return owner + "/" + strconv.Itoa(n) }

// Owner is the owner of the group's environments.
func (g ServerGroup) Owner() string {
	owner, _, _ := strings.Cut(g.ID, "/")
	return owner
}

// Number is the group's number among its owner's groups of the claim; 0 for an id of another
// form.
func (g ServerGroup) Number() int {
	_, n, _ := strings.Cut(g.ID, "/")
	i, _ := strconv.Atoi(n)
	return i
}

// Authority is the member others prove themselves against: the founder, or once it has
// left, the member with the lowest id; 0 when the group has no members.
func (g ServerGroup) Authority() int64 {
	switch {
	case len(g.Envs) == 0:
		return 0
	case g.Has(g.Founder):
		return g.Founder
	default:
		return slices.Min(g.Envs)
	}
}

// Has reports whether env is proven to reach the group's server.
func (g ServerGroup) Has(env int64) bool { return slices.Contains(g.Envs, env) }

const groupSep = "#"

// ParseServer splits a server key (ServerGroup.Server) into its claim and group; ok is false
// for a key that names no group (an RDS parameter group, or a key from before groups).
func ParseServer(key string) (claim, group string, ok bool) {
	rest, ok := strings.CutPrefix(key, ServerKey(""))
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, groupSep)
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
