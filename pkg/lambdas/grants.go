package lambdas

// Resource is one of the stack's resources a function may be granted actions on.
type Resource string

// The resources grants are on.
const (
	OnTable   Resource = "table"   // the table and its indexes
	OnBucket  Resource = "bucket"  // the workload bucket itself: listing its keys
	OnObjects Resource = "objects" // every object in the workload bucket
	OnDigests Resource = "digests" // the workload bucket's env-*/capture-*/digest.json only
	OnReplays Resource = "replays" // the workload bucket's replays/* only
	OnReports Resource = "reports" // the workload bucket's replays/*/report* only
	OnKey     Resource = "key"     // the key that seals database passwords
	OnUsers   Resource = "users"   // the user pool
)

// Grant is one IAM permission: actions on a resource.
type Grant struct {
	On      Resource
	Actions []string
}

// The actions behind each kind of access, each there for a call the service makes. Nothing
// here lets a function scan the table (dynamodb:Scan: every access is by key or index), delete
// an object's versions (s3:DeleteObjectVersion: a deleted file stays a noncurrent version for
// the bucket's 30 days), or re-encrypt a sealed password (kms:ReEncrypt*: it would let the
// environments function bind one environment's password to another's id).
var (
	// GetItem, BatchGetItem and Query (the indexes too).
	readTable = []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
	// Conditional puts, updates and deletes, BatchWriteItem (deleting an environment's
	// members, storing counter samples) and TransactWriteItems, which AWS checks against each
	// of its items' own actions, its condition checks as ConditionCheckItem.
	writeTable = []string{"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	// Reading a file is a GET (and a presigned GET for a download); listing lets S3 answer a
	// missing key with 404 rather than 403, which is how a reader tells "not there yet".
	readObjects = []string{"s3:GetObject"}
	listBucket  = []string{"s3:ListBucket"}
	// A PUT, and a multipart upload's create, parts and complete.
	putObjects = []string{"s3:PutObject"}
	// DeleteObjects of the keys under a prefix, which on a versioned bucket leaves a delete
	// marker and keeps the versions.
	deleteObjects = []string{"s3:DeleteObject"}
	// A multipart upload that failed is aborted, so no parts are kept.
	abortUploads = []string{"s3:AbortMultipartUpload"}
	// Finding a member by user name, email or sub, with a filter.
	listUsers = []string{"cognito-idp:ListUsers"}
	encrypt   = []string{"kms:Encrypt"}
	decrypt   = []string{"kms:Decrypt"}
)

// Grants are the permissions f gets on the table, the workload bucket, the password key and
// the user pool:
// what its calls need, and nothing else. Every function reads the table.
func (f Spec) Grants() []Grant {
	table := readTable
	if f.WritesData {
		table = append(append([]string{}, readTable...), writeTable...)
	}
	out := []Grant{{OnTable, table}}
	if f.Files != NoFiles {
		out = append(out, Grant{OnBucket, listBucket})
	}
	switch f.Files {
	case ReadFiles:
		out = append(out, Grant{OnObjects, readObjects})
	case PutDigests:
		out = append(out, Grant{OnObjects, readObjects}, Grant{OnDigests, putObjects})
	case DeleteFiles:
		out = append(out, Grant{OnObjects, join(readObjects, deleteObjects)})
	case AllFiles:
		out = append(out, Grant{OnObjects, join(readObjects, putObjects, deleteObjects, abortUploads)})
	case ReplayFiles:
		out = append(out, Grant{OnObjects, readObjects}, Grant{OnReplays, join(putObjects, abortUploads)})
	case DeleteReplayFiles:
		out = append(out, Grant{OnReplays, join(readObjects, deleteObjects)})
	case PutReports:
		out = append(out, Grant{OnObjects, readObjects}, Grant{OnReports, putObjects})
	}
	switch f.Key {
	case Seal:
		out = append(out, Grant{OnKey, encrypt})
	case Unseal:
		out = append(out, Grant{OnKey, decrypt})
	case SealOpen:
		out = append(out, Grant{OnKey, join(encrypt, decrypt)})
	}
	if f.ListsUsers {
		out = append(out, Grant{OnUsers, listUsers})
	}
	return out
}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
