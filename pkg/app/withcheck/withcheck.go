// Package withcheck lets the environments function check an environment's database as it is
// written, signing in as a capture's recorder would.
package withcheck

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/recording"
)

// ChecksDatabases checks databases through the function's network policy. The recorder is
// given nothing to write to: a check reads the database only.
func ChecksDatabases(_ app.AWS, s *api.Server) {
	s.Checker = &recording.Recorder{Network: s.Network, Log: s.Log}
}
