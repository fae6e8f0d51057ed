package capture

// EnvCheck is what checking an environment's database found: that the recorder can sign in
// with its credentials and do what a capture needs, and what is optional.
type EnvCheck struct {
	Version string // the server's VERSION()
	// TLS is the mode the connection used, whether it was encrypted, its cipher, and the
	// fingerprint of the certificate it accepted ("" without TLS).
	TLS         string
	Encrypted   bool
	Cipher      string
	Fingerprint string
	// SwitchesLog says how the general log is switched: "SET GLOBAL" (the privilege is
	// there), or "RDS parameter group" (not over SQL: checked when the environment names it).
	SwitchesLog string
	ReadsLog    bool // SELECT on mysql.general_log
	// Rotation is how collections read the log: "MyCRT procedures", "RDS rotation", or
	// "none" (each collection reads the whole table).
	Rotation string
}

// Rotations a check may find.
const (
	RotationOwn  = "MyCRT procedures"
	RotationRDS  = "RDS rotation"
	RotationNone = "none"
)

// Ways the general log is switched.
const (
	SwitchOverSQL = "SET GLOBAL"
	SwitchOverRDS = "RDS parameter group"
)
