package recording

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// What a server says it is (its claim, see identity) is not proof: two servers may claim one
// identity, by accident or on purpose. A connection is placed in a lease.ServerGroup only by
// proof over two connections: each takes a named lock that nobody else could know and the
// other must see it held by that very connection. GET_LOCK and IS_USED_LOCK need no privilege,
// and a server that lies about the lock it holds cannot make an honest one see it, so two
// connections prove the same server only when both servers are one.

// verdict is what a proof found.
type verdict int

const (
	unknown   verdict = iota // the proof could not be made: a connection failed
	same                     // both connections reach one server
	different                // each server answered, and they are not one
)

// proofTimeout bounds one proof's statements, once its partner is reached.
const proofTimeout = 250 * time.Millisecond

// maxProofs bounds the groups a newcomer proves itself against, so that no number of servers
// claiming an identity makes a connection cost more than this many others.
const maxProofs = 8

// partnerTimeout bounds connecting to a group's authority for a proof. The newcomer has read
// its connection id by then and registers only after the proof, and a collection holds an
// unregistered session's rows for 2 s (ownSessionWait): the proof must fit inside that.
const partnerTimeout = time.Second

// place finds which server c reaches among those claiming its identity, proving it, and sets
// c.server and c.group. An environment already proven is proven again whenever it connects,
// against the group's authority (the authority against the member after it), unless it is the
// group's only member or is being connected as a partner in another's proof: so no collection
// hands one member's rows to another's captures once their servers have come apart. One that
// no longer proves it leaves the group and is placed afresh, the group it left noted as
// unproven, since the two may still be the same server.
func (r *Recorder) place(ctx context.Context, env capture.Environment, c *conn, partner bool) error {
	var left []string
	for attempt := 1; ; attempt++ {
		err := r.placeOnce(ctx, env, c, partner, &left)
		if !errors.Is(err, capture.ErrChanged) || attempt == 3 {
			return err
		}
	}
}

// placeOnce is one try at place. Founding a group is conditional on its id, the claim's next,
// being free: two environments of one server that connect for the first time at once would
// otherwise found two groups, one each; the one that finds the id taken tries again, and
// proves itself against the group the other founded. left gathers the groups env left.
func (r *Recorder) placeOnce(ctx context.Context, env capture.Environment, c *conn, partner bool, left *[]string) error {
	groups, err := r.Store.ServerGroups(ctx, c.claim, env.OwnerID)
	if err != nil {
		return err
	}
	next := lease.GroupID(env.OwnerID, nextGroupNumber(groups))
	if i := slices.IndexFunc(groups, func(g lease.ServerGroup) bool { return g.Has(env.ID) }); i >= 0 {
		g := groups[i]
		if partner || len(g.Envs) == 1 {
			c.group = g
			return nil
		}
		switch v := r.proveIn(ctx, c, []lease.ServerGroup{g})[0]; v {
		case same, unknown:
			if v == unknown {
				r.logger().WarnContext(ctx, "environment not proven again: its group's authority cannot be reached", "env_id", env.ID, "server", g.Server())
			}
			c.group = g
			return nil
		}
		r.logger().WarnContext(ctx, "environment no longer reaches its server: it leaves the group", "env_id", env.ID, "server", g.Server(), "authority", g.Authority())
		if err := r.Store.LeaveServerGroup(ctx, g, env.ID, r.now()); err != nil {
			return err
		}
		*left = append(*left, g.ID)
	} else if partner {
		return fmt.Errorf("environment %d is not proven to reach a server", env.ID)
	}
	unproven := slices.Clone(*left)
	candidates := slices.DeleteFunc(groups, func(g lease.ServerGroup) bool {
		return len(g.Envs) == 0 || g.Has(env.ID) || slices.Contains(*left, g.ID)
	})
	// The most shared first: a newcomer is likeliest to reach what others do.
	slices.SortStableFunc(candidates, func(a, b lease.ServerGroup) int { return len(b.Envs) - len(a.Envs) })
	candidates = candidates[:min(len(candidates), maxProofs)]
	verdicts := r.proveIn(ctx, c, candidates)
	for i, g := range candidates {
		switch verdicts[i] {
		case same:
			if err := r.Store.JoinServerGroup(ctx, g, env.ID, r.now()); err != nil {
				return err
			}
			g.Envs = append(g.Envs, env.ID)
			c.group = g
			return nil
		case unknown:
			unproven = append(unproven, g.ID)
		}
	}
	g := lease.ServerGroup{Claim: c.claim, ID: next, Envs: []int64{env.ID}, Founder: env.ID, Unproven: unproven}
	if err := r.Store.FoundServerGroup(ctx, g, r.now()); err != nil {
		return err
	}
	if len(unproven) > 0 {
		r.logger().WarnContext(ctx, "environment could not be told apart from servers claiming the same identity",
			"env_id", env.ID, "server", g.Server(), "unproven", unproven)
	}
	c.group = g
	return nil
}

// nextGroupNumber is the number of an owner's next group of a claim: they are numbered from 1,
// and never deleted, so the number is free unless someone founded it since groups were read.
func nextGroupNumber(groups []lease.ServerGroup) int {
	n := 0
	for _, g := range groups {
		n = max(n, g.Number())
	}
	return n + 1
}

// proveIn proves c against each group's authority, connecting to them at once.
func (r *Recorder) proveIn(ctx context.Context, c *conn, groups []lease.ServerGroup) []verdict {
	out := make([]verdict, len(groups))
	partners := make([]*conn, len(groups))
	// Each partner is reached within partnerTimeout, all at once; then the proofs run one
	// after another on c (one session runs one statement at a time), each within proofTimeout,
	// so however the partners answer, placing c costs at most a few seconds.
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := r.partner(ctx, g, c.envID)
			if err != nil {
				r.logger().WarnContext(ctx, "proof partner not reached", "server", g.Server(), "error", err.Error())
				return
			}
			partners[i] = p
		}()
	}
	wg.Wait()
	for i, p := range partners {
		if p == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, proofTimeout)
		var err error
		if out[i], err = prove(pctx, c, p); err != nil {
			r.logger().WarnContext(ctx, "proof not made", "server", groups[i].Server(), "error", err.Error())
		}
		cancel()
		p.Close()
	}
	return out
}

// partner connects to g's authority, for a proof of environment self; the authority itself is
// proven against the member after it.
func (r *Recorder) partner(ctx context.Context, g lease.ServerGroup, self int64) (*conn, error) {
	id := g.Authority()
	if id == self {
		others := slices.DeleteFunc(slices.Clone(g.Envs), func(e int64) bool { return e == self })
		if len(others) == 0 {
			return nil, errors.New("no other member to prove against")
		}
		id = slices.Min(others)
	}
	env, err := r.Store.Environment(ctx, id)
	if errors.Is(err, capture.ErrEnvNotFound) {
		return nil, errors.Join(err, r.Store.LeaveServerGroup(ctx, g, id, r.now()))
	}
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, partnerTimeout)
	defer cancel()
	p, err := r.open(pctx, env, true)
	if err != nil {
		return nil, err
	}
	if p.server != g.Server() {
		p.Close()
		return nil, fmt.Errorf("environment %d no longer reaches %s", id, g.Server())
	}
	return p, nil
}

// prove tells whether a and b reach the same server: each in turn takes a lock named at
// random, which the other must see held by that connection's own id.
//
// Only the partner b may make the proof unknown (it failed, or took too long): whatever goes
// wrong on a's side, a's own connection, is a's server's doing and makes them different, so
// that no server can keep a place by refusing to take part.
func prove(ctx context.Context, a, b *conn) (verdict, error) {
	for _, pair := range [2][2]*conn{{a, b}, {b, a}} {
		holder, seer := pair[0], pair[1]
		name := "mycrt-proof-" + randomHex(16)
		failed := func(c *conn, err error) (verdict, error) {
			if c == b {
				return unknown, err
			}
			return different, err
		}
		var got sql.NullInt64
		if err := holder.queryRow(ctx, "SELECT GET_LOCK(?, 0)", []any{name}, &got); err != nil {
			return failed(holder, fmt.Errorf("take the proof's lock: %w", err))
		}
		if got.Int64 != 1 {
			return failed(holder, errors.New("the proof's lock was not granted"))
		}
		var held sql.NullInt64
		err := seer.queryRow(ctx, "SELECT IS_USED_LOCK(?)", []any{name}, &held)
		if err != nil {
			return failed(seer, fmt.Errorf("look for the proof's lock: %w", err))
		}
		if err := holder.exec(ctx, "DO RELEASE_LOCK(?)", name); err != nil {
			return failed(holder, fmt.Errorf("release the proof's lock: %w", err))
		}
		if !held.Valid || held.Int64 < 0 || uint64(held.Int64) != holder.id {
			return different, nil
		}
	}
	return same, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// reaches reports whether c is connected to the server key names. A key from before servers
// were proven (lease.ParseServer finds no group) names the server's claim alone, as it did
// then, so that what was recorded under it is still let go of and restored.
func (c *conn) reaches(key string) bool {
	if _, _, ok := lease.ParseServer(key); ok {
		return key == c.server
	}
	return key == lease.ServerKey(c.claim)
}

// adopt returns the settings to keep as found on c's server. Settings that are what a capture
// sets (the log on, to a table) while a server c's could not be told apart from keeps found
// settings may be that capture's doing on this very server: the settings it found are kept
// instead, so that the log is still left as it was found.
func (r *Recorder) adopt(ctx context.Context, c *conn, found map[string]string) (map[string]string, error) {
	if !logsToTable(found) {
		return found, nil
	}
	groups, err := r.Store.ServerGroups(ctx, c.claim, c.group.Owner())
	if err != nil {
		return nil, err
	}
	for _, peer := range peersOf(groups, c.group.ID) {
		l, err := r.Store.Lease(ctx, peer.Server())
		if err != nil {
			return nil, err
		}
		if l.Before != nil {
			r.logger().WarnContext(ctx, "general log found on while a server that may be this one records: keeping its settings as found",
				"server", c.server, "peer", peer.Server())
			return l.Before, nil
		}
	}
	return found, nil
}

// peerHolding names a group that key's server could not be told apart from and whose log is
// held now: restoring key's settings could turn the log off under its captures, so the restore
// waits for them.
func (r *Recorder) peerHolding(ctx context.Context, key string) (string, error) {
	claim, id, ok := lease.ParseServer(key)
	if !ok {
		return "", nil
	}
	groups, err := r.Store.ServerGroups(ctx, claim, lease.ServerGroup{ID: id}.Owner())
	if err != nil {
		return "", err
	}
	for _, peer := range peersOf(groups, id) {
		l, err := r.Store.Lease(ctx, peer.Server())
		if err != nil {
			return "", err
		}
		if len(l.Holders) > 0 {
			return peer.Server(), nil
		}
	}
	return "", nil
}

// peersOf lists the groups that group id could not be told apart from, either way.
func peersOf(groups []lease.ServerGroup, id string) []lease.ServerGroup {
	i := slices.IndexFunc(groups, func(g lease.ServerGroup) bool { return g.ID == id })
	var out []lease.ServerGroup
	for _, o := range groups {
		if o.ID != id && (slices.Contains(o.Unproven, id) || i >= 0 && slices.Contains(groups[i].Unproven, o.ID)) {
			out = append(out, o)
		}
	}
	return out
}
