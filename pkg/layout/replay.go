package layout

import "fmt"

// ReplayPrefix holds every file of a replay: its plan, shards, outcomes and report states, so
// deleting a replay's logs is one prefix delete.
func ReplayPrefix(replay int64) string { return fmt.Sprintf("replays/%d/", replay) }

// ReplayOutcomesPrefix holds the outcome files of a replay's shard (package outcome), one per
// invocation.
func ReplayOutcomesPrefix(replay int64, shard int) string {
	return fmt.Sprintf("%soutcomes/%d/", ReplayPrefix(replay), shard)
}

// ReplayOutcomeKey names the outcome file invocation inv of a shard writes as it ends.
func ReplayOutcomeKey(replay int64, shard, inv int) string {
	return fmt.Sprintf("%s%d.out", ReplayOutcomesPrefix(replay, shard), inv)
}

// ReplayShardReportKey names the report state (package report) folded from a shard's outcome
// files so far, kept so that a report of a running replay folds only the files written since.
func ReplayShardReportKey(replay int64, shard int) string {
	return fmt.Sprintf("%sreport/%d.state", ReplayPrefix(replay), shard)
}

// ReplayReportKey names the report state of a finished replay: every shard's, merged.
func ReplayReportKey(replay int64) string { return ReplayPrefix(replay) + "report.state" }
