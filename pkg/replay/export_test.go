package replay

// LetThrough makes r's read-only mode send the statements fn names though they may write: the
// server's read-only sessions must refuse them.
func LetThrough(r *Runner, fn func(sql string) bool) { r.letThrough = fn }

// SetShardSessions makes Prepare put up to n sessions in a shard until the returned func runs.
func SetShardSessions(n int) (restore func()) {
	shardSessions = n
	return func() { shardSessions = MaxShardSessions }
}
