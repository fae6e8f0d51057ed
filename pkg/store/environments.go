package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

type envItem struct {
	keys
	EnvID          int64     `dynamo:"envId"`
	Name           string    `dynamo:"envName"`
	OwnerID        string    `dynamo:"ownerId"`
	OwnerName      string    `dynamo:"ownerName,omitempty"`
	Host           string    `dynamo:"host"`
	Port           int       `dynamo:"port"`
	DBName         string    `dynamo:"dbName"`
	User           string    `dynamo:"user"`
	SealedPassword string    `dynamo:"sealedPass,omitempty"`
	Instance       string    `dynamo:"instance,omitempty"`
	ParameterGroup string    `dynamo:"parameterGroup,omitempty"`
	Admins         int       `dynamo:"admins"` // guards "the last admin cannot leave" under concurrency
	Created        time.Time `dynamo:"created"`
	Lease          string    `dynamo:"lease,omitempty"`
	TLS            string    `dynamo:"tls,omitempty"`
	CACert         string    `dynamo:"caCert,omitempty"`
	TLSFingerprint string    `dynamo:"tlsFingerprint,omitempty"`
	Revision       int       `dynamo:"revision,omitempty"` // connection edits so far
	Target         bool      `dynamo:"target,omitempty"`   // a replay target only
}

func (it envItem) env() capture.Environment {
	return capture.Environment{
		ID: it.EnvID, Name: it.Name, OwnerID: it.OwnerID, OwnerName: it.OwnerName, Host: it.Host, Port: it.Port,
		DBName: it.DBName, User: it.User, SealedPassword: it.SealedPassword,
		Instance: it.Instance, ParameterGroup: it.ParameterGroup, Created: it.Created, Lease: it.Lease,
		TLS: it.TLS, CACert: it.CACert, TLSFingerprint: it.TLSFingerprint, Revision: it.Revision,
		Target: it.Target,
	}
}

type memberItem struct {
	keys
	EnvID   int64     `dynamo:"envId"`
	UserID  string    `dynamo:"memberId"`
	Name    string    `dynamo:"name,omitempty"`
	IsAdmin bool      `dynamo:"isAdmin"`
	Added   time.Time `dynamo:"added"`
}

func (it memberItem) member() capture.Member {
	return capture.Member{EnvID: it.EnvID, UserID: it.UserID, Name: it.Name, IsAdmin: it.IsAdmin}
}

func newMemberItem(m capture.Member, now time.Time) memberItem {
	return memberItem{
		keys:  keys{PK: envPK(m.EnvID), SK: memberSK(m.UserID)},
		EnvID: m.EnvID, UserID: m.UserID, Name: m.Name, IsAdmin: m.IsAdmin, Added: now,
	}
}

// NewEnvironmentID allocates the id of an environment about to be created.
func (s *Store) NewEnvironmentID(ctx context.Context) (int64, error) {
	return s.nextID(ctx, "environment")
}

// Environment returns one environment.
func (s *Store) Environment(ctx context.Context, id int64) (capture.Environment, error) {
	var it envItem
	err := s.table.Get("pk", envPK(id)).Range("sk", dynamo.Equal, skEnv).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return capture.Environment{}, capture.ErrEnvNotFound
	}
	if err != nil {
		return capture.Environment{}, fmt.Errorf("get environment %d: %w", id, err)
	}
	return it.env(), nil
}

// PinTLS pins fingerprint as the certificate of environment id's server unless one is pinned
// already, and returns the pin in force: the first to pin wins, and a pin never changes.
// capture.ErrEnvNotFound if the environment is gone.
func (s *Store) PinTLS(ctx context.Context, id int64, fingerprint string) (string, error) {
	err := s.table.Update("pk", envPK(id)).Range("sk", skEnv).Set("tlsFingerprint", fingerprint).
		If("attribute_exists(pk) AND attribute_not_exists(tlsFingerprint)").Run(ctx)
	if err == nil {
		return fingerprint, nil
	}
	if !dynamo.IsCondCheckFailed(err) {
		return "", fmt.Errorf("pin the certificate of environment %d: %w", id, err)
	}
	var it envItem
	err = s.table.Get("pk", envPK(id)).Range("sk", dynamo.Equal, skEnv).Consistent(true).One(ctx, &it)
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		return "", capture.ErrEnvNotFound
	case err != nil:
		return "", fmt.Errorf("get environment %d: %w", id, err)
	}
	return it.TLSFingerprint, nil
}

// Access returns an environment and the user's membership of it in one round trip:
// capture.ErrEnvNotFound if there is no such environment, capture.ErrNotMember if the user is
// not in it.
func (s *Store) Access(ctx context.Context, envID int64, user string) (capture.Environment, capture.Member, error) {
	var items []dynamo.Item
	err := s.table.Batch("pk", "sk").
		Get(dynamo.Keys{envPK(envID), skEnv}, dynamo.Keys{envPK(envID), memberSK(user)}).
		All(ctx, &items)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return capture.Environment{}, capture.Member{}, fmt.Errorf("get environment %d with member: %w", envID, err)
	}
	var (
		env             envItem
		mem             memberItem
		hasEnv, hasUser bool
	)
	for _, item := range items {
		var k keys
		if err := dynamo.UnmarshalItem(item, &k); err != nil {
			return capture.Environment{}, capture.Member{}, fmt.Errorf("decode environment %d: %w", envID, err)
		}
		if k.SK == skEnv {
			hasEnv = true
			err = dynamo.UnmarshalItem(item, &env)
		} else {
			hasUser = true
			err = dynamo.UnmarshalItem(item, &mem)
		}
		if err != nil {
			return capture.Environment{}, capture.Member{}, fmt.Errorf("decode environment %d: %w", envID, err)
		}
	}
	switch {
	case !hasEnv:
		return capture.Environment{}, capture.Member{}, capture.ErrEnvNotFound
	case !hasUser:
		return env.env(), capture.Member{}, capture.ErrNotMember
	}
	return env.env(), mem.member(), nil
}

// Member returns a user's membership of an environment, or capture.ErrNotMember.
func (s *Store) Member(ctx context.Context, envID int64, user string) (capture.Member, error) {
	var it memberItem
	err := s.table.Get("pk", envPK(envID)).Range("sk", dynamo.Equal, memberSK(user)).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return capture.Member{}, capture.ErrNotMember
	}
	if err != nil {
		return capture.Member{}, fmt.Errorf("get member %s of environment %d: %w", user, envID, err)
	}
	return it.member(), nil
}

// Memberships lists the environments a user belongs to, in id order.
func (s *Store) Memberships(ctx context.Context, user string) ([]capture.Member, error) {
	var items []memberItem
	err := s.table.Get("memberId", user).Index(IndexUserEnvs).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list memberships of %s: %w", user, err)
	}
	out := make([]capture.Member, len(items))
	for i, it := range items {
		out[i] = it.member()
	}
	return out, nil
}

// Environments returns the environments with the given ids that exist, in the order given.
func (s *Store) Environments(ctx context.Context, ids []int64) ([]capture.Environment, error) {
	ks := make([]dynamo.Keyed, len(ids))
	for i, id := range ids {
		ks[i] = dynamo.Keys{envPK(id), skEnv}
	}
	items, err := batchGet[envItem](ctx, s, "environments", ks, false)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]envItem, len(items))
	for _, it := range items {
		byID[it.EnvID] = it
	}
	out := make([]capture.Environment, 0, len(items))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			out = append(out, it.env())
		}
	}
	return out, nil
}

// Members lists an environment's members, in user order.
func (s *Store) Members(ctx context.Context, envID int64) ([]capture.Member, error) {
	var items []memberItem
	err := s.table.Get("pk", envPK(envID)).Range("sk", dynamo.BeginsWith, "MEMBER#").All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list members of environment %d: %w", envID, err)
	}
	out := make([]capture.Member, len(items))
	for i, it := range items {
		out[i] = it.member()
	}
	return out, nil
}

// AddMember adds a user to an existing environment: capture.ErrMemberTaken if they are in it
// already, capture.ErrEnvNotFound if the environment is gone.
func (s *Store) AddMember(ctx context.Context, m capture.Member, now time.Time) error {
	env := s.table.Update("pk", envPK(m.EnvID)).Range("sk", skEnv).If("attribute_exists(pk)")
	if m.IsAdmin {
		env.Add("admins", 1)
	} else {
		// A no-op write keeps the environment's existence a condition of the transaction.
		env.Set("envId", m.EnvID)
	}
	err := s.db.WriteTx().
		Update(env).
		Put(s.table.Put(newMemberItem(m, now.UTC())).If("attribute_not_exists(pk)")).
		Run(ctx)
	switch failedCondition(err) {
	case 0:
		return capture.ErrEnvNotFound
	case 1:
		return capture.ErrMemberTaken
	}
	if err != nil {
		return fmt.Errorf("add %s to environment %d: %w", m.UserID, m.EnvID, err)
	}
	return nil
}

// RemoveMember takes a user out of an environment. Removing an admin counts the admins down
// in the same transaction, conditional on another admin remaining, so two admins leaving at
// once cannot leave the environment with none.
func (s *Store) RemoveMember(ctx context.Context, m capture.Member) error {
	del := s.table.Delete("pk", envPK(m.EnvID)).Range("sk", memberSK(m.UserID)).
		If("attribute_exists(pk) AND isAdmin = ?", m.IsAdmin)
	var err error
	if m.IsAdmin {
		err = s.db.WriteTx().
			Delete(del).
			Update(s.table.Update("pk", envPK(m.EnvID)).Range("sk", skEnv).Add("admins", -1).If("admins > ?", 1)).
			Run(ctx)
		switch failedCondition(err) {
		case 0:
			return capture.ErrNoMember
		case 1:
			return capture.ErrLastAdmin
		}
	} else {
		err = del.Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			return capture.ErrNoMember
		}
	}
	if err != nil {
		return fmt.Errorf("remove %s from environment %d: %w", m.UserID, m.EnvID, err)
	}
	return nil
}

// MarkEnvironmentDeleting marks environment id as being deleted: from then on no capture can
// be created in it (CreateCapture checks), so that the captures it has can be checked and
// deleted without new ones appearing meanwhile. capture.ErrEnvNotFound if it is gone.
func (s *Store) MarkEnvironmentDeleting(ctx context.Context, id int64, now time.Time) error {
	err := s.table.Update("pk", envPK(id)).Range("sk", skEnv).
		Set("deleting", now.UTC()).If("attribute_exists(pk)").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return capture.ErrEnvNotFound
	}
	if err != nil {
		return fmt.Errorf("mark environment %d deleting: %w", id, err)
	}
	return nil
}

// UnmarkEnvironmentDeleting ends a deletion that was refused.
func (s *Store) UnmarkEnvironmentDeleting(ctx context.Context, id int64) error {
	err := s.table.Update("pk", envPK(id)).Range("sk", skEnv).Remove("deleting").If("attribute_exists(pk)").Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("unmark environment %d deleting: %w", id, err)
	}
	return nil
}

// EnvironmentCaptures lists every capture of environment id with strongly consistent reads:
// each capture's name claim sits in the environment's partition, so unlike the envCaptures
// index this misses none just created.
func (s *Store) EnvironmentCaptures(ctx context.Context, id int64) ([]capture.Capture, error) {
	var claims []nameClaim
	err := s.table.Get("pk", envPK(id)).Range("sk", dynamo.BeginsWith, nameSK("")).Consistent(true).All(ctx, &claims)
	if err != nil {
		return nil, fmt.Errorf("list the captures of environment %d: %w", id, err)
	}
	if len(claims) == 0 {
		return nil, nil
	}
	ks := make([]dynamo.Keyed, len(claims))
	for i, c := range claims {
		ks[i] = dynamo.Keys{capturePK(c.ClaimedBy), skCapture}
	}
	var items []captureItem
	err = s.table.Batch("pk", "sk").Get(ks...).Consistent(true).All(ctx, &items)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read the captures of environment %d: %w", id, err)
	}
	out := make([]capture.Capture, len(items))
	for i, it := range items {
		out[i] = it.capture()
	}
	return out, nil
}

// DeleteEnvironment deletes what is left of environment id once its captures are deleted: its
// members and any name claims, and last the environment itself, so that a deletion that stops
// half way can be done again.
func (s *Store) DeleteEnvironment(ctx context.Context, id int64) error {
	var owned []struct {
		keys
		OwnerID string `dynamo:"ownerId"`
		Name    string `dynamo:"envName"`
	}
	if err := s.table.Get("pk", envPK(id)).Project("pk", "sk", "ownerId", "envName").Consistent(true).All(ctx, &owned); err != nil {
		return fmt.Errorf("list items of environment %d: %w", id, err)
	}
	var rest []dynamo.Keyed
	owner, name, found := "", "", false
	for _, k := range owned {
		if k.SK == skEnv {
			owner, name, found = k.OwnerID, k.Name, true
		} else {
			rest = append(rest, dynamo.Keys{k.PK, k.SK})
		}
	}
	if len(rest) > 0 {
		if _, err := s.table.Batch("pk", "sk").Write().Delete(rest...).Run(ctx); err != nil {
			return fmt.Errorf("delete contents of environment %d: %w", id, err)
		}
	}
	if !found {
		return nil // deleted already, by an earlier try
	}
	// The environment goes, and with it its place in its creator's quota and its name.
	claim := envNameClaim(owner, name, id)
	err := s.db.WriteTx().
		Delete(s.table.Delete("pk", envPK(id)).Range("sk", skEnv).If("attribute_exists(pk)")).
		Update(s.envsRemove(owner, id)).
		Delete(s.table.Delete("pk", claim.PK).Range("sk", claim.SK).If("attribute_not_exists(pk) OR claimedBy = ?", id)).
		Run(ctx)
	if failedCondition(err) == 0 {
		return nil // a concurrent deletion got there first
	}
	if err != nil {
		return fmt.Errorf("delete environment %d: %w", id, err)
	}
	return nil
}
