package store

import (
	"github.com/guregu/dynamo/v2"
)

// Quotas are held by conditional writes on two kinds of item, each a number set of ids, so
// that no number of concurrent creates can pass them: an environment's LIVE item holds its
// live captures (added as a capture is created, removed in the same transaction that ends or
// deletes it), and a user's QUOTA item the environments they created (added as one is
// created, removed as it is deleted). Removing an id that is not there (an environment or
// capture older than quotas) changes nothing.

// envsAdd puts environment id among user's, on condition that they have fewer than max.
func (s *Store) envsAdd(user string, id int64, max int) *dynamo.Update {
	return s.table.Update("pk", userPK(user)).Range("sk", skQuota).
		AddIntsToSet("envs", int(id)).
		If("attribute_not_exists(envs) OR size(envs) < ?", max)
}

// envsRemove takes environment id from user's.
func (s *Store) envsRemove(user string, id int64) *dynamo.Update {
	return s.table.Update("pk", userPK(user)).Range("sk", skQuota).DeleteIntsFromSet("envs", int(id))
}

// liveAdd puts capture id among environment envID's live captures, on condition that it has
// fewer than max.
func (s *Store) liveAdd(envID, id int64, max int) *dynamo.Update {
	return s.table.Update("pk", envPK(envID)).Range("sk", skLive).
		AddIntsToSet("ids", int(id)).
		If("attribute_not_exists(ids) OR size(ids) < ?", max)
}

// liveRemove takes capture id from environment envID's live captures. It is unconditional:
// it goes in the transaction of the capture's own conditional write (an environment older
// than quotas has no item to condition on), and a capture exists only while its environment
// does, since deleting an environment deletes its captures first.
func (s *Store) liveRemove(envID, id int64) *dynamo.Update {
	return s.table.Update("pk", envPK(envID)).Range("sk", skLive).DeleteIntsFromSet("ids", int(id))
}
