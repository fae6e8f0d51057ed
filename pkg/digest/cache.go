package digest

// Bounds of the caches that spare fingerprinting or hashing a statement again: entries, and
// bytes, each fingerprint's text counted with what the map spends on an entry. Past them a
// cache keeps what it has and learns nothing new, which costs time (an MD5 per statement) but
// no memory.
const (
	cacheEntries    = 2 * MaxFingerprints
	cacheBytes      = 4 << 20
	cacheEntryBytes = 64 // a map entry's string header, value and share of its bucket
)

// textCache holds values by fingerprint, within cacheEntries and cacheBytes, and never a
// fingerprint longer than MaxText: one so long costs as much to hash as to find. The zero
// value is ready to use.
type textCache[V any] struct {
	m     map[string]V
	bytes int
}

func (c *textCache[V]) get(fp string) (V, bool) {
	v, ok := c.m[fp]
	return v, ok
}

func (c *textCache[V]) put(fp string, v V) {
	size := len(fp) + cacheEntryBytes
	if len(fp) > MaxText || len(c.m) >= cacheEntries || c.bytes+size > cacheBytes {
		return
	}
	if c.m == nil {
		c.m = map[string]V{}
	}
	if _, ok := c.m[fp]; !ok {
		c.bytes += size
	}
	c.m[fp] = v
}
