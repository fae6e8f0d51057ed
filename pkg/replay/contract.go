// Package replay runs a capture's workload again on a target database: it prepares the
// workload once into shards of sessions (Prepare), runs each shard's sessions on their own
// connections in captured order and timing (Run), continues a shard across invocations without
// splitting a transaction, and writes every statement's outcome (package outcome).
package replay

import "github.com/mycrt/captures/pkg/shard"

// The seams of a shard run, declared in package shard (which links no engine, so the table and
// the API need not link this package) and named here as the engine's code knows them.
type (
	Shard      = shard.Shard
	Checkpoint = shard.Checkpoint
	Baton      = shard.Baton
	Progress   = shard.Progress
	Continuer  = shard.Continuer
	Job        = shard.Job
	Result     = shard.Result
	Lost       = shard.Lost
)

// The seams' errors (package shard).
var (
	ErrNotCurrent = shard.ErrNotCurrent
	ErrStopped    = shard.ErrStopped
	ErrGone       = shard.ErrGone
)
