package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/netguard"
)

// environmentBody is a create's or an edit's body: an edit changes the fields it gives.
type environmentBody struct {
	Name           *string `json:"envName"`
	Host           *string `json:"host"`
	Port           *int    `json:"port"`
	DBName         *string `json:"dbName"`
	User           *string `json:"user"`
	Pass           *string `json:"pass"`
	Instance       *string `json:"instance"`
	ParameterGroup *string `json:"parameterGroup"`
	TLS            *string `json:"tls"`
	CACert         *string `json:"caCert"`
	// Check, an addition, is whether the database is checked before the environment is
	// written (default true): false saves one that cannot be reached yet.
	Check *bool `json:"check"`
	// Target, an addition, says the environment is only a replay target: its checks do not
	// ask for the general log's privileges, which a replay does not need (default false on a
	// create; an edit keeps what the environment says unless it gives it).
	Target *bool `json:"target"`
}

// checks is what the body asks of the check of env (as the body changed it).
func (b environmentBody) checks(env capture.Environment) checkAsked {
	return checkAsked{run: b.Check == nil || *b.Check, target: env.Target}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// apply sets the connection fields b gives on env.
func (b environmentBody) apply(env *capture.Environment) error {
	for _, f := range []struct {
		from *string
		to   *string
	}{{b.Host, &env.Host}, {b.DBName, &env.DBName}, {b.User, &env.User}, {b.Instance, &env.Instance},
		{b.ParameterGroup, &env.ParameterGroup}, {b.CACert, &env.CACert}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if b.Port != nil {
		if env.Port = *b.Port; env.Port == 0 {
			return capture.ErrPortInvalid
		}
	}
	if b.Target != nil {
		env.Target = *b.Target
	}
	if b.TLS != nil {
		mode, err := dbtls.ParseMode(*b.TLS)
		if err != nil {
			return badRequest(err.Error())
		}
		env.TLS = string(mode)
	}
	return nil
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body environmentBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	env := capture.Environment{Name: str(body.Name), OwnerID: who.ID, OwnerName: who.Name, Created: s.Now()}
	if err := body.apply(&env); err != nil {
		return err
	}
	found, err := s.vet(r.Context(), &env, str(body.Pass), body.checks(env))
	if err != nil {
		return err
	}
	// The sealed password is bound to the environment's id, so the id comes first.
	id, err := s.Store.NewEnvironmentID(r.Context())
	if err != nil {
		return err
	}
	env.ID = id
	if env.SealedPassword, err = s.Secrets.Seal(r.Context(), id, str(body.Pass)); err != nil {
		return err
	}
	env, err = s.Store.CreateNamedEnvironment(r.Context(), env)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, checkedView(env, found))
	return nil
}

// listEnvironments answers a page of the caller's environments, newest (highest id) first.
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	pg, err := pageOf(r.URL.Query(), "environments", func(p string) bool {
		id, err := strconv.ParseInt(p, 10, 64)
		return err == nil && id > 0
	})
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(pg.after, 10, 64)
	members, next, err := s.Store.MembershipsPage(r.Context(), who.ID, after, pg.limit)
	if err != nil {
		return err
	}
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.EnvID
	}
	envs, err := s.Store.Environments(r.Context(), ids)
	if err != nil {
		return err
	}
	out := make([]environmentJSON, len(envs))
	for i, e := range envs {
		out[i] = environmentView(e)
	}
	if next > 0 {
		linkNext(w, r, "environments", strconv.FormatInt(next, 10))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// access reads the environment named by the path and the caller's membership of it.
func (s *Server) access(r *http.Request, who auth.Identity) (capture.Environment, capture.Member, error) {
	id, err := positiveID(r.PathValue("id"), "Environment id")
	if err != nil {
		return capture.Environment{}, capture.Member{}, err
	}
	return s.Store.Access(r.Context(), id, who.ID)
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	env, _, err := s.access(r, who)
	if err != nil {
		return err
	}
	var l lease.Lease // none before its first capture found its server
	if env.Lease != "" {
		if l, err = s.Store.Lease(r.Context(), env.Lease); err != nil {
			return err
		}
	}
	if l, err = s.visibleLease(r.Context(), env, who, l); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		environmentJSON
		GeneralLog generalLogJSON `json:"generalLog"`
	}{environmentView(env), generalLogView(l)})
	return nil
}

// visibleLease is what the caller may see of the lease on env's server, which environments
// of other users may share once they proved they reach the same server: holders that are
// captures of environments the caller belongs to, and the reason a restore failed only when
// every environment that reached the server is one of them, since the reason names their
// hosts and users.
func (s *Server) visibleLease(ctx context.Context, env capture.Environment, who auth.Identity, l lease.Lease) (lease.Lease, error) {
	mine := map[int64]bool{env.ID: true}
	others := slices.ContainsFunc(l.Via, func(id int64) bool { return id != env.ID })
	var holders []capture.Capture
	if len(l.Holders) > 0 {
		var err error
		if holders, err = s.Store.Captures(ctx, l.Holders); err != nil {
			return lease.Lease{}, err
		}
		others = others || slices.ContainsFunc(holders, func(c capture.Capture) bool { return c.EnvID != env.ID })
	}
	if others {
		members, err := s.Store.Memberships(ctx, who.ID)
		if err != nil {
			return lease.Lease{}, err
		}
		for _, m := range members {
			mine[m.EnvID] = true
		}
	}
	l.Holders = nil
	for _, c := range holders {
		if mine[c.EnvID] {
			l.Holders = append(l.Holders, c.ID)
		}
	}
	slices.Sort(l.Holders)
	if l.LastError != "" && slices.ContainsFunc(l.Via, func(id int64) bool { return !mine[id] }) {
		l.LastError = otherEnvironmentsError
	}
	return l, nil
}

// otherEnvironmentsError stands for a restore's reason that names environments of others.
const otherEnvironmentsError = "The settings could not be restored yet through the environments that reach this server, some of them not yours; it is retried"

func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	env, m, err := s.access(r, who)
	if err != nil {
		return err
	}
	if !m.IsAdmin {
		return capture.ErrNotAdmin
	}
	if err := s.deleteEnvironmentContents(r.Context(), env); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, environmentView(env))
	return nil
}

type addMemberBody struct {
	User    *string `json:"user"`
	IsAdmin *bool   `json:"isAdmin"`
}

// checkHost refuses a host that is, or resolves to, an address the worker may not connect to.
// A name that does not resolve from here is let through (it may resolve only inside the
// database's network); the worker checks every address again as it connects.
func (s *Server) checkHost(ctx context.Context, host string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.Network.Resolve(ctx, host)
	if errors.Is(err, netguard.ErrRefused) {
		return badRequest("host is not allowed: " + err.Error())
	}
	if err != nil {
		s.Log.InfoContext(ctx, "environment host does not resolve here", "error", err.Error())
	}
	return nil
}

// pinTLS reads the certificate env's server presents, to pin it (trust on first use), when
// env's mode trusts on first use: "" when there is no prober, or the server cannot be reached
// or offers no TLS now, and the worker then pins at its first connection. Nothing but the
// greeting and a TLS handshake is exchanged: no user name, no password.
func (s *Server) pinTLS(ctx context.Context, env capture.Environment) string {
	if s.TLSProbe == nil || !dbtls.TrustsOnFirstUse(dbtls.Effective(dbtls.Mode(env.TLS), env.Host, env.CACert)) {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	fp, err := s.TLSProbe.Fingerprint(ctx, net.JoinHostPort(env.Host, strconv.Itoa(env.Port)))
	if err != nil {
		s.Log.InfoContext(ctx, "environment's server certificate not pinned at creation", "error", err.Error())
		return ""
	}
	return fp
}

// checkRDS checks an environment's RDS instance and parameter group against RDS, so that no
// one names another team's group (which the worker would switch) or instance (whose metrics
// it would read) beside a database of their own.
func (s *Server) checkRDS(ctx context.Context, env capture.Environment) error {
	switch {
	case env.Instance == "" && env.ParameterGroup == "":
		return nil
	case env.Instance == "":
		return capture.ErrRDSGroupNeedsID
	case s.RDS == nil:
		return nil
	}
	inst, err := s.RDS.Instance(ctx, env.Instance)
	if err != nil {
		return err
	}
	return env.CheckRDS(inst)
}

// deleteEnvironmentContents deletes env's replays (those into it and those of its captures),
// captures, files, members and last env itself, unless a
// capture of it may have the general log on, or its server's settings are still to be
// restored: nothing could turn the log off without the environment. The check is atomic: env
// is first marked so that no capture can be created in it, then its captures are read
// consistently, and each is deleted only if its status is still as read.
func (s *Server) deleteEnvironmentContents(ctx context.Context, env capture.Environment) error {
	if env.Lease != "" {
		l, err := s.Store.Lease(ctx, env.Lease)
		if err != nil {
			return err
		}
		if l.RestorePending {
			return capture.ErrEnvRestoring
		}
	}
	if err := s.Store.MarkEnvironmentDeleting(ctx, env.ID, s.Now()); err != nil {
		return err
	}
	refused := func(why error) error {
		return errors.Join(why, s.Store.UnmarkEnvironmentDeleting(context.WithoutCancel(ctx), env.ID))
	}
	caps, err := s.Store.EnvironmentCaptures(ctx, env.ID)
	if err != nil {
		return err
	}
	for _, c := range caps {
		if c.Status.MayRecord() {
			return refused(capture.ErrEnvRecording)
		}
	}
	// Its replays, into it or of its captures, go first (their files too: nothing could reach
	// them), each stopped if it runs. The mark keeps new ones from being made meanwhile.
	if err := s.dropReplays(ctx, s.Store.EnvReplayPages(env.ID, cascadePage), s.Files != nil); err != nil {
		return err // still marked: deleting again finishes the work
	}
	for _, c := range caps {
		err := s.Store.DeleteCapture(ctx, c)
		if errors.Is(err, capture.ErrChanged) {
			// A rename of one of its replays before it was dropped counted on it
			// (RenameReplay), or it started: read again, deleted unless it may record.
			if c, err = s.Store.Capture(ctx, c.ID); err == nil && !c.Status.MayRecord() {
				err = s.Store.DeleteCapture(ctx, c)
			} else if err == nil {
				err = capture.ErrChanged
			}
		}
		switch {
		case errors.Is(err, capture.ErrCaptureNotFound):
			continue // deleted meanwhile
		case errors.Is(err, capture.ErrChanged):
			// A scheduled capture that started meanwhile is not deleted: the deletion is refused.
			return refused(capture.ErrEnvRecording)
		case err != nil:
			return err
		}
		s.deleteSamples(ctx, c)
	}
	if s.Files != nil {
		if err := s.Files.DeletePrefix(ctx, layout.EnvFilesPrefix(env.ID)); err != nil {
			return err // still marked: deleting again finishes the work
		}
	}
	return s.Store.DeleteEnvironment(ctx, env.ID)
}
