// Command benchratio reads `go test -bench` output with paired sub-benchmarks NAME/handler
// and NAME/raw and prints, per NAME, both times and their ratio. With -count N it keeps each
// one's fastest run, the one least disturbed by the rest of the machine.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

var line = regexp.MustCompile(`^Benchmark\S*?/(\S+)/(handler|raw)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

func main() {
	ns := map[string]map[string]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if ns[m[1]] == nil {
			ns[m[1]] = map[string]float64{}
			order = append(order, m[1])
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		if old, ok := ns[m[1]][m[2]]; !ok || v < old {
			ns[m[1]][m[2]] = v
		}
	}
	fmt.Printf("%-18s %12s %12s %7s\n", "endpoint", "handler ms", "raw ms", "ratio")
	for _, name := range order {
		h, r := ns[name]["handler"], ns[name]["raw"]
		if h == 0 || r == 0 {
			continue
		}
		fmt.Printf("%-18s %12.3f %12.3f %6.2fx\n", name, h/1e6, r/1e6, h/r)
	}
}
