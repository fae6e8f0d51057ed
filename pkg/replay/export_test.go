package replay

// LetThrough makes r's read-only mode send the statements fn names though they may write: the
// server's read-only sessions must refuse them.
func LetThrough(r *Runner, fn func(sql string) bool) { r.letThrough = fn }
