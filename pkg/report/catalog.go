package report

import (
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/outcome"
)

// Catalog is what the capture's digest says of each fingerprint: its text, a sample statement
// and how many statements the capture recorded. A report names its rows from it rather than
// fingerprinting anything again.
type Catalog map[uint64]Entry

// Entry is one fingerprint of a Catalog.
type Entry struct {
	ID          string // as digest.ID writes it
	Fingerprint string
	Sample      string
	Captured    int64
}

// CatalogOf is the catalog of a capture's digest. Its OTHER row (fingerprints beyond the
// digest's bound) is the OtherDigest entry.
func CatalogOf(d *digest.State) Catalog {
	c := Catalog{}
	d.EachFingerprint(func(id, fp, sample string, count int64) {
		key := OtherDigest
		if id != digest.OtherID {
			v, err := outcome.ParseDigest(id)
			if err != nil {
				return // not an ID digest.ID wrote: no outcome can name it
			}
			key = v
		}
		c[key] = Entry{ID: id, Fingerprint: fp, Sample: sample, Captured: count}
	})
	return c
}

// Has says whether the capture's digest lists fingerprint d.
func (c Catalog) Has(d uint64) bool { _, ok := c[d]; return ok }

// Known is the known function of New for the capture's rows: Has, or nil (the first
// MaxFingerprints fingerprints seen) when the catalog is empty, as when the capture's digest
// is gone, so that its rows are not all OTHER.
func (c Catalog) Known() func(uint64) bool {
	if len(c) == 0 {
		return nil
	}
	return c.Has
}

// entry is d's entry, or one that names d alone when the digest does not list it.
func (c Catalog) entry(d uint64) Entry {
	if e, ok := c[d]; ok {
		return e
	}
	if d == OtherDigest {
		return Entry{ID: digest.OtherID, Fingerprint: digest.OtherFingerprint}
	}
	return Entry{ID: outcome.DigestID(d)}
}
