package layout

import "fmt"

// ReplayShardReportKey names the report state (package report) folded from a shard's outcome
// files so far, kept so that a report of a running replay folds only the files written since.
func ReplayShardReportKey(id int64, shard int) string {
	return fmt.Sprintf("%sreport/%d.state", ReplayPrefix(id), shard)
}

// ReplayReportKey names the report state of a finished replay: every shard's, merged.
func ReplayReportKey(id int64) string { return ReplayPrefix(id) + "report.state" }

// ReplayReportPattern matches every replay's report states (ReplayShardReportKey and
// ReplayReportKey), for grants.
const ReplayReportPattern = ReplaysPrefix + "*/report*"
