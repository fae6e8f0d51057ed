package replay_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/outcome"
)

func buckets(recs []outcome.Record) string {
	max := map[int]time.Duration{}
	cnt := map[int]int{}
	hi := 0
	for _, r := range recs {
		b := int(r.Start / (100 * time.Millisecond))
		if r.Lateness > max[b] {
			max[b] = r.Lateness
		}
		cnt[b]++
		if b > hi {
			hi = b
		}
	}
	var sb strings.Builder
	for b := 0; b <= hi; b++ {
		fmt.Fprintf(&sb, "%d:%d/%s ", b, cnt[b], max[b].Round(time.Millisecond))
	}
	return sb.String()
}
