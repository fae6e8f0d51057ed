package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
)

// checkJSON is what a check of an environment's database found, an addition: the answer of
// POST /api/environments/{id}/check, and "check" beside a created or edited environment.
type checkJSON struct {
	OK      bool    `json:"ok"`
	Problem *string `json:"problem"` // what failed, when not ok
	Version *string `json:"version"`
	TLS     struct {
		Mode        string  `json:"mode"`
		Encrypted   bool    `json:"encrypted"`
		Cipher      *string `json:"cipher"`
		Fingerprint *string `json:"fingerprint"`
	} `json:"tls"`
	Privileges struct {
		SwitchLog *string `json:"switchLog"` // "SET GLOBAL" or "RDS parameter group"; null if not there
		ReadLog   bool    `json:"readLog"`
	} `json:"privileges"`
	Rotation *string `json:"rotation"` // "MyCRT procedures", "RDS rotation" or "none"
}

func checkView(found capture.EnvCheck, err error) checkJSON {
	var v checkJSON
	v.OK = err == nil
	if err != nil {
		msg := err.Error()
		v.Problem = &msg
	}
	v.Version = nullable(found.Version)
	v.TLS.Mode, v.TLS.Encrypted = found.TLS, found.Encrypted
	v.TLS.Cipher, v.TLS.Fingerprint = nullable(found.Cipher), nullable(found.Fingerprint)
	v.Privileges.SwitchLog, v.Privileges.ReadLog = nullable(found.SwitchesLog), found.ReadsLog
	v.Rotation = nullable(found.Rotation)
	return v
}

// checkedView is an environment as written, with what its check found (null: not checked).
func checkedView(env capture.Environment, found *capture.EnvCheck) any {
	out := struct {
		environmentJSON
		Check *checkJSON `json:"check"`
	}{environmentJSON: environmentView(env)}
	if found != nil {
		v := checkView(*found, nil)
		out.Check = &v
	}
	return out
}

// checkAsked is what a create or an edit asks of the database check: whether it runs, and
// whether for a replay target only.
type checkAsked struct{ run, target bool }

// vet checks an environment about to be written: its fields, TLS settings, host and RDS
// names, pins its server's certificate when its mode trusts on first use (what the probe
// read, or else what the check accepted), and, if asked, signs in to its database as a capture
// (or a replay, for a target) would: a 400 saying what failed. It returns what the check
// found, nil if it was not run.
func (s *Server) vet(ctx context.Context, env *capture.Environment, pass string, asked checkAsked) (*capture.EnvCheck, error) {
	if err := env.Validate(); err != nil {
		return nil, err
	}
	if err := dbtls.Check(dbtls.Mode(env.TLS), env.CACert); err != nil {
		return nil, badRequest(err.Error())
	}
	if err := s.checkHost(ctx, env.Host); err != nil {
		return nil, err
	}
	if err := s.checkRDS(ctx, *env); err != nil {
		return nil, err
	}
	if env.TLSFingerprint == "" {
		env.TLSFingerprint = s.pinTLS(ctx, *env)
	}
	if !asked.run || s.Checker == nil {
		return nil, nil
	}
	check := s.Checker.Check
	if asked.target {
		check = s.Checker.CheckTarget
	}
	found, err := check(ctx, *env, pass)
	if err != nil {
		return nil, badRequest("The database check failed (send \"check\": false to save the environment all the same): " + err.Error())
	}
	if env.TLSFingerprint == "" && dbtls.TrustsOnFirstUse(dbtls.Effective(dbtls.Mode(env.TLS), env.Host, env.CACert)) {
		env.TLSFingerprint = found.Fingerprint
	}
	return &found, nil
}

// password is env's database password: the one given, or the one it keeps.
func (s *Server) password(ctx context.Context, env capture.Environment, given *string) (string, error) {
	if given != nil {
		return *given, nil
	}
	if env.SealedPassword == "" {
		return "", nil
	}
	return s.Secrets.Open(ctx, env.ID, env.SealedPassword)
}

// editEnvironment changes an environment's connection (admins), checked as a new one is: not
// while one of its captures may have the log on, or its server's settings are still to be
// restored, since those go through the connection as it was. A new host or port is a new
// server: its pinned certificate and lease are dropped; a new TLS mode or CA drops the pin.
func (s *Server) editEnvironment(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body environmentBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Name != nil {
		return errRenameEnvironment
	}
	prev, m, err := s.access(r, who)
	if err != nil {
		return err
	}
	if !m.IsAdmin {
		return capture.ErrNotAdmin
	}
	env := prev
	if err := body.apply(&env); err != nil {
		return err
	}
	if env.Host != prev.Host || env.Port != prev.Port {
		env.Lease, env.TLSFingerprint = "", ""
	}
	if env.TLS != prev.TLS || env.CACert != prev.CACert {
		env.TLSFingerprint = ""
	}
	if err := s.refuseWhileRecording(r.Context(), prev); err != nil {
		return err
	}
	pass, err := s.password(r.Context(), prev, body.Pass)
	if err != nil {
		return err
	}
	found, err := s.vet(r.Context(), &env, pass, body.checks(env))
	if err != nil {
		return err
	}
	if body.Pass != nil {
		if env.SealedPassword, err = s.Secrets.Seal(r.Context(), env.ID, pass); err != nil {
			return err
		}
	}
	if env, err = s.Store.UpdateEnvironment(r.Context(), prev, env); errors.Is(err, capture.ErrChanged) {
		return errEnvironmentChanged
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, checkedView(env, found))
	return nil
}

var (
	errRenameEnvironment  = badRequest("envName cannot be changed: PUT changes the connection (host, port, dbName, user, pass, instance, parameterGroup, tls, caCert) and target")
	errEnvironmentChanged = &capture.Error{Kind: capture.Conflict, Message: "The environment changed while this request ran: read it and try again"}
	errNoChecker          = &capture.Error{Kind: capture.Unavailable, Message: "Databases cannot be checked from here"}
)

// refuseWhileRecording refuses a change of env's connection while one of its captures may have
// the log on (read consistently, as a deletion reads them), its server's settings are still
// to be restored, or a replay into it may run (it was proven apart from its capture's server
// as it was; its shards check again, and would fail it).
func (s *Server) refuseWhileRecording(ctx context.Context, env capture.Environment) error {
	if env.Lease != "" {
		l, err := s.Store.Lease(ctx, env.Lease)
		if err != nil {
			return err
		}
		if l.RestorePending {
			return capture.ErrEnvEditRestoring
		}
	}
	caps, err := s.Store.EnvironmentCaptures(ctx, env.ID)
	if err != nil {
		return err
	}
	for _, c := range caps {
		if c.Status.MayRecord() {
			return capture.ErrEnvEditRecording
		}
	}
	reps, err := s.Store.EnvReplays(ctx, []int64{env.ID})
	if err != nil {
		return err
	}
	for _, r := range reps {
		if r.Status.MayRun() {
			return capture.ErrEnvEditReplaying
		}
	}
	return nil
}

// checkEnvironment checks a member's environment's database again and says what it found,
// failure included (200 either way: the check ran). A certificate the check accepted is
// pinned on an environment that trusts on first use and has none yet.
func (s *Server) checkEnvironment(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	env, _, err := s.access(r, who)
	if err != nil {
		return err
	}
	if s.Checker == nil {
		return errNoChecker
	}
	pass, err := s.password(r.Context(), env, nil)
	if err != nil {
		return err
	}
	check := s.Checker.Check
	if env.Target {
		check = s.Checker.CheckTarget
	}
	found, checkErr := check(r.Context(), env, pass)
	if checkErr == nil && env.TLSFingerprint == "" && found.Fingerprint != "" &&
		dbtls.TrustsOnFirstUse(dbtls.Effective(dbtls.Mode(env.TLS), env.Host, env.CACert)) {
		if found.Fingerprint, err = s.Store.PinTLS(r.Context(), env.ID, found.Fingerprint); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, checkView(found, checkErr))
	return nil
}
