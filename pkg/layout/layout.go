// Package layout names where a capture's and a server's files are kept in the bucket (or the
// local folder that stands in for it): one place for the key scheme, which grants, deletes and
// readers all follow.
package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// EnvFilesPrefix holds every file of an environment's captures.
func EnvFilesPrefix(envID int64) string { return fmt.Sprintf("env-%d/", envID) }

// ReplaysPrefix holds every replay's files (ReplayPrefix), apart from captures': the replays'
// grants are on it alone.
const ReplaysPrefix = "replays/"

// Files of a capture. Every file of a capture lives under its FilesPrefix, named by
// environment and capture, so deleting a capture's logs is one prefix delete.
func FilesPrefix(c capture.Capture) string {
	return EnvFilesPrefix(c.EnvID) + fmt.Sprintf("capture-%d/", c.ID)
}

// FragmentsPrefix holds the workload's fragments until its file is written.
func FragmentsPrefix(c capture.Capture) string { return FilesPrefix(c) + "fragments/" }

// FragmentKey names the nth workload fragment.
func FragmentKey(c capture.Capture, n int) string {
	return fmt.Sprintf("%s%06d.jsonl.gz", FragmentsPrefix(c), n)
}

// WorkloadKey names the finished workload file.
func WorkloadKey(c capture.Capture) string { return FilesPrefix(c) + "workload.jsonl.gz" }

// DigestKey names the capture's final digest (see package digest), written with the workload.
func DigestKey(c capture.Capture) string { return FilesPrefix(c) + digestName }

// DigestKeyPattern matches every capture's DigestKey, for grants.
const DigestKeyPattern = "env-*/capture-*/" + digestName

const digestName = "digest.json"

// DigestStateKey names the digest as of the nth fragment, kept beside it while the capture
// records, so each collection goes on from the last one's.
func DigestStateKey(c capture.Capture, n int) string {
	return fmt.Sprintf("%s%06d.digest.json", FragmentsPrefix(c), n)
}

// MetricsKey names the stored metrics of the capture's window.
func MetricsKey(c capture.Capture) string { return FilesPrefix(c) + "metrics.json" }

// CollectorSessionsKey names what server's log had told of its sessions (each one's current
// database) once its collection n was read. It is the server's, not a capture's: every
// capture's rows get their database from it, so one row reads the same in every workload.
func CollectorSessionsKey(server string, n int) string {
	return CollectionPrefix(server, n) + "sessions.json"
}

// CollectionPrefix holds what is kept of server's collection n.
func CollectionPrefix(server string, n int) string {
	sum := sha256.Sum256([]byte(server))
	return fmt.Sprintf("%s%s/%09d/", CollectorsPrefix, hex.EncodeToString(sum[:12]), n)
}

// CollectorsPrefix holds what servers' collections keep: only the last collection's, for a
// server being recorded, which every collection rewrites under a new key.
const CollectorsPrefix = "collectors/"

// CollectorFilesLife is how long a collection's files are worth keeping: longer than any capture
// records, so the files of a server nobody records any more can be expired by age.
const CollectorFilesLife = capture.MaxDuration + 14*24*time.Hour

// Files of a replay. Every file of a replay lives under its ReplayPrefix, so deleting a
// replay's files is one prefix delete.
func ReplayPrefix(id int64) string { return fmt.Sprintf("replays/%d/", id) }

// ReplayPlanKey names the replay's prepared plan (its shards and counts), written by Prepare.
func ReplayPlanKey(id int64) string { return ReplayPrefix(id) + "plan.json" }

// ReplayShardKey names shard n of the replay's prepared workload.
func ReplayShardKey(id int64, n int) string { return fmt.Sprintf("%sshards/%d", ReplayPrefix(id), n) }

// ReplayOutcomesPrefix holds the outcome files of every shard of the replay.
func ReplayOutcomesPrefix(id int64) string { return ReplayPrefix(id) + "outcomes/" }

// ReplayOutcomeKey names the outcome file (package outcome) of one invocation of one shard.
func ReplayOutcomeKey(id int64, shard, invocation int) string {
	return fmt.Sprintf("%s%d/%d.out", ReplayOutcomesPrefix(id), shard, invocation)
}
