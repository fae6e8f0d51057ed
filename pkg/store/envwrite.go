package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// envNameClaim reserves an environment's name among its owner's, in any case: written and
// removed in the transactions that create and delete the environment. Environments made
// before names were claimed hold none.
func envNameClaim(owner, name string, id int64) nameClaim {
	return nameClaim{keys: keys{PK: userPK(owner), SK: "ENVNAME#" + strings.ToLower(name)}, ClaimedBy: id}
}

// CreateNamedEnvironment is CreateEnvironment claiming the environment's name among its
// creator's in the same transaction: capture.ErrEnvNameTaken if they have one of that name (in
// any case). It is how the API creates environments.
func (s *Store) CreateNamedEnvironment(ctx context.Context, env capture.Environment) (capture.Environment, error) {
	return s.createEnvironment(ctx, env, true)
}

// CreateEnvironment stores a new environment, whose id came from NewEnvironmentID, with its
// creator as its only admin: Quotas.TooManyEnvironments if its creator has as many as they
// may. Its name is not claimed (see CreateNamedEnvironment).
func (s *Store) CreateEnvironment(ctx context.Context, env capture.Environment) (capture.Environment, error) {
	return s.createEnvironment(ctx, env, false)
}

func (s *Store) createEnvironment(ctx context.Context, env capture.Environment, claimName bool) (capture.Environment, error) {
	id := env.ID
	env.Created = env.Created.UTC()
	it := envItem{
		keys:  keys{PK: envPK(id), SK: skEnv},
		EnvID: id, Name: env.Name, OwnerID: env.OwnerID, OwnerName: env.OwnerName, Host: env.Host, Port: env.Port,
		DBName: env.DBName, User: env.User, SealedPassword: env.SealedPassword,
		Instance: env.Instance, ParameterGroup: env.ParameterGroup, Admins: 1, Created: env.Created,
		TLS: env.TLS, CACert: env.CACert, TLSFingerprint: env.TLSFingerprint, Target: env.Target,
	}
	admin := newMemberItem(capture.Member{EnvID: id, UserID: env.OwnerID, Name: env.OwnerName, IsAdmin: true}, env.Created)
	tx := s.db.WriteTx().
		Put(s.table.Put(it).If("attribute_not_exists(pk)")).
		Put(s.table.Put(admin).If("attribute_not_exists(pk)")).
		Update(s.envsAdd(env.OwnerID, id, s.Quotas.Environments))
	if claimName {
		tx.Put(s.table.Put(envNameClaim(env.OwnerID, env.Name, id)).If("attribute_not_exists(pk)"))
	}
	err := tx.Run(ctx)
	switch failedCondition(err) {
	case 2:
		return capture.Environment{}, s.Quotas.TooManyEnvironments()
	case 3:
		return capture.Environment{}, capture.ErrEnvNameTaken
	}
	if err != nil {
		return capture.Environment{}, fmt.Errorf("create environment %d: %w", id, err)
	}
	return env, nil
}

// UpdateEnvironment stores next's connection (host, port, database, user, sealed password,
// RDS names, TLS, pinned certificate, lease, whether it is a target only) over the environment as it was read, prev, on
// condition that nobody changed its connection since and that it is not being deleted:
// capture.ErrChanged otherwise. It returns next as stored, one revision on.
func (s *Store) UpdateEnvironment(ctx context.Context, prev, next capture.Environment) (capture.Environment, error) {
	next.Revision = prev.Revision + 1
	u := s.table.Update("pk", envPK(prev.ID)).Range("sk", skEnv).
		Set("host", next.Host).Set("port", next.Port).Set("dbName", next.DBName).Set("user", next.User).
		Set("revision", next.Revision).
		If("attribute_exists(pk) AND attribute_not_exists(deleting)")
	if prev.Revision == 0 {
		u.If("attribute_not_exists(revision)")
	} else {
		u.If("revision = ?", prev.Revision)
	}
	for name, v := range map[string]string{
		"sealedPass": next.SealedPassword, "instance": next.Instance, "parameterGroup": next.ParameterGroup,
		"tls": next.TLS, "caCert": next.CACert, "tlsFingerprint": next.TLSFingerprint, "lease": next.Lease,
	} {
		if v == "" {
			u.Remove(name)
		} else {
			u.Set(name, v)
		}
	}
	if next.Target {
		u.Set("target", true)
	} else {
		u.Remove("target")
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return capture.Environment{}, fmt.Errorf("update environment %d: %w", prev.ID, capture.ErrChanged)
	}
	if err != nil {
		return capture.Environment{}, fmt.Errorf("update environment %d: %w", prev.ID, err)
	}
	return next, nil
}
