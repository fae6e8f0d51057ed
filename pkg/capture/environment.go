package capture

import (
	"strings"
	"time"
)

// Environment is a database a team records captures from.
type Environment struct {
	ID             int64
	Name           string
	OwnerID        string
	OwnerName      string // the owner's user name as they created it, for display; "" if not known
	Host           string
	Port           int
	DBName         string
	User           string
	SealedPassword string // the password as the secrets service sealed it; never shown or logged
	Instance       string // RDS instance id; empty for a database outside RDS
	ParameterGroup string // RDS parameter group; empty when the general log is set over SQL
	Lease          string // the key of its server's general log lease, once a capture has found it
	TLS            string // how connections use TLS, as MySQL's --ssl-mode names it; "" for the host's default
	CACert         string // PEM certificates of the CAs to trust for VERIFY_CA and VERIFY_IDENTITY; "" for the default
	TLSFingerprint string // SHA-256 of the server's certificate, pinned at first use (PREFERRED, REQUIRED); "" before
	Revision       int    // how often its connection was edited: an edit is conditional on it
	// Target says it is a replay target only: its checks sign in as a replay would, without
	// asking for the general log's privileges a capture needs.
	Target  bool
	Created time.Time
}

// DefaultPort is MySQL's.
const DefaultPort = 3306

// Member is a user's membership of an environment.
type Member struct {
	EnvID   int64
	UserID  string // the user's id (their token's sub)
	Name    string // their user name, for display; "" if not known
	IsAdmin bool
}

// CanChange reports whether member may edit, stop or delete c: its owner or an environment admin.
func CanChange(c Capture, m Member) bool { return m.IsAdmin || c.OwnerID == m.UserID }

// Environment validation errors.
var (
	ErrEnvNameRequired = newError(Invalid, "envName is required (1 to 100 characters)")
	ErrHostRequired    = newError(Invalid, "host is required")
	ErrPortInvalid     = newError(Invalid, "port must be between 1 and 65535")
	ErrDBNameRequired  = newError(Invalid, "dbName is required")
	ErrUserRequired    = newError(Invalid, "user is required")
	ErrMemberRequired  = newError(Invalid, "user is required: the id (token subject) of the user to add, at most 128 characters, without /?#%")
)

// Validate checks a membership before it is stored.
func (m Member) Validate() error {
	if m.UserID == "" || len(m.UserID) > 128 || strings.ContainsAny(m.UserID, "/?#%") || strings.TrimSpace(m.UserID) != m.UserID {
		return ErrMemberRequired
	}
	return nil
}

// Validate checks an environment before it is stored; a zero port becomes MySQL's default.
func (e *Environment) Validate() error {
	e.Name = strings.TrimSpace(e.Name)
	switch {
	case e.Name == "" || len(e.Name) > 100:
		return ErrEnvNameRequired
	case strings.TrimSpace(e.Host) == "":
		return ErrHostRequired
	case e.DBName == "":
		return ErrDBNameRequired
	case e.User == "":
		return ErrUserRequired
	}
	if e.Port == 0 {
		e.Port = DefaultPort
	}
	if e.Port < 1 || e.Port > 65535 {
		return ErrPortInvalid
	}
	return nil
}

// RDSInstance is what RDS says of an instance an environment names.
type RDSInstance struct {
	ID              string
	Host            string // its endpoint's address
	Port            int
	ParameterGroups []string // the parameter groups attached to it
}

// Errors of an environment whose RDS names do not match RDS.
var (
	ErrRDSInstanceNotFound = newError(Invalid, "instance: RDS has no such instance in this account and region")
	ErrRDSEndpoint         = newError(Invalid, "instance: the instance's endpoint is not the environment's host and port")
	ErrRDSParameterGroup   = newError(Invalid, "parameterGroup: the parameter group is not the one attached to the instance")
	ErrRDSGroupNeedsID     = newError(Invalid, "parameterGroup needs instance: the group is checked against the instance it is attached to")
	ErrRDSUnavailable      = newError(Unavailable, "RDS could not be asked about the instance right now: try again")
	ErrNoSuchUser          = newError(NotFound, "No user has that user name, email or id")
	ErrEnvNameTaken        = newError(Conflict, "You already have an environment of that name")
	ErrEnvEditRecording    = newError(Conflict, "The environment has captures recording: stop them before changing its connection")
	ErrEnvEditReplaying    = newError(Conflict, "The environment has replays running into it: stop them before changing its connection")
	ErrEnvTargetOnly       = newError(Invalid, `The environment is only a replay target ("target": true): edit it with "target": false, which checks its user for the general log's privileges, to capture from it`)
	ErrEnvEditRestoring    = newError(Conflict, "The environment's database still has its general log settings to restore (see generalLog): change its connection once they are restored")
	ErrUserAmbiguous       = newError(Invalid, "Several users have that email: add the member by user name")
	ErrUsersUnavailable    = newError(Unavailable, "The user directory could not be asked right now: try again")
)

// CheckRDS checks an environment's RDS names against what RDS says of its instance: the
// instance's endpoint must be the environment's host and port, and its parameter group, if
// named, one attached to the instance. So nobody can name another team's instance or
// parameter group beside a database of their own.
func (e Environment) CheckRDS(inst RDSInstance) error {
	if !strings.EqualFold(strings.TrimSuffix(inst.Host, "."), strings.TrimSuffix(e.Host, ".")) || inst.Port != e.Port {
		return ErrRDSEndpoint
	}
	if e.ParameterGroup != "" {
		for _, g := range inst.ParameterGroups {
			if g == e.ParameterGroup {
				return nil
			}
		}
		return ErrRDSParameterGroup
	}
	return nil
}
