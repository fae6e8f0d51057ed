package local_test

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// reportView is what these tests read of a replay's report or a comparison.
type reportView struct {
	FingerprintCount int
	Fingerprints     []struct {
		ID, Fingerprint, Verdict string
		Count, Errors, Rows      int
		NewErrors, RowsDiffer    int
		Candidate                struct {
			ErrorCodes map[string]struct {
				Count   int
				Message string
			}
		}
	}
}

// consoleReport, on replay id's screen: the report's rows as the API reads them (statements
// sent, errors, rows), its summary, and latency bars with words.
func consoleReport(b *tab, api *client, id int64) {
	t := b.t
	t.Helper()
	var r reportView
	if code := api.call("GET", fmt.Sprintf("/api/replays/%d/report", id), nil, &r); code != 200 || len(r.Fingerprints) == 0 {
		t.Fatalf("the report: %d, %+v", code, r)
	}
	f := r.Fingerprints[0]
	sel := fmt.Sprintf(`#report tr[data-fingerprint="%s"]`, f.ID)
	b.run("the report", until(`!!document.querySelector(`+js(sel)+`)`))
	var cells []string
	b.eval(`[...document.querySelector(`+js(sel)+`).cells].slice(1, 4).map(c => c.textContent)`, &cells)
	if want := []string{fmt.Sprint(f.Count), fmt.Sprint(f.Errors), fmt.Sprint(f.Rows)}; strings.Join(cells, "|") != strings.Join(want, "|") {
		t.Errorf("the report's row for %s: sent, errors, rows %q; the API's %q", f.Fingerprint, cells, want)
	}
	if f.Count != 5 || f.Rows != 5 || !strings.HasPrefix(f.Fingerprint, "insert into shop.orders") {
		t.Errorf("the report's first fingerprint: %+v, want the 5 inserts", f)
	}
	if got := b.text("#report-summary"); !strings.HasPrefix(got, "5 of 5 captured statements replayed, 0 failed") {
		t.Errorf("the report's summary: %q", got)
	}
	var bars string
	b.eval(`document.querySelector(`+js(sel+" svg.latency")+`)?.getAttribute("aria-label") ?? ""`, &bars)
	if !strings.Contains(bars, "p95") {
		t.Errorf("the latency bars' words: %q", bars)
	}
}

// consoleCompare, on the comparison of base and candidate (the same inserts again, into rows
// already there): the INSERT fingerprint's verdict is errors, its new errors and the error's
// number and message shown as the API has them; filtered to "same", what the API filters.
func consoleCompare(b *tab, api *client, base, candidate int64) {
	t := b.t
	t.Helper()
	var cmp reportView
	path := fmt.Sprintf("/api/replays/compare?base=%d&candidate=%d&sort=verdict", base, candidate)
	if code := api.call("GET", path, nil, &cmp); code != 200 || len(cmp.Fingerprints) == 0 {
		t.Fatalf("the comparison: %d, %+v", code, cmp)
	}
	f := cmp.Fingerprints[0]
	dup, ok := f.Candidate.ErrorCodes["1062"]
	if f.Verdict != "errors" || f.NewErrors != 5 || !ok || dup.Count != 5 {
		t.Errorf("the API's first fingerprint: %+v, want errors with 5 new 1062s", f)
	}
	sel := fmt.Sprintf(`#comparison tr[data-fingerprint="%s"]`, f.ID)
	b.run("the comparison", until(`!!document.querySelector(`+js(sel)+`)`))
	var seen struct {
		First   string `json:"first"`
		Verdict string `json:"verdict"`
		New     string `json:"new"`
		Errors  string `json:"errors"`
	}
	b.eval(`(() => { const r = document.querySelector(`+js(sel)+`); return {first: document.querySelector("#comparison tbody tr").dataset.fingerprint,
  verdict: r.querySelector("[data-verdict]").dataset.verdict, new: r.cells[8].textContent, errors: r.querySelector("ul.errors")?.textContent ?? ""}; })()`, &seen)
	if seen.First != f.ID || seen.Verdict != f.Verdict || seen.New != fmt.Sprint(f.NewErrors) || !strings.Contains(seen.Errors, "1062 ×5: "+dup.Message) {
		t.Errorf("the comparison's first row %+v; the API's %s, verdict %s, %d new errors, 1062: %q", seen, f.ID, f.Verdict, f.NewErrors, dup.Message)
	}
	var same reportView
	api.call("GET", path+"&verdict=same", nil, &same)
	b.run("only the same", choose(`#comparison-controls select[name=verdict]`, "same"),
		until(fmt.Sprintf(`document.querySelector("#comparison-shown")?.textContent === "Showing %d of %d fingerprints."`, len(same.Fingerprints), same.FingerprintCount)))
	for _, v := range []string{"errors", "diverged", "regressed", "improved"} {
		if n := b.count(fmt.Sprintf(`#comparison tbody [data-verdict=%s]`, v)); n != 0 {
			t.Errorf("%d %s rows under the filter same", n, v)
		}
	}
	b.run("any verdict again", choose(`#comparison-controls select[name=verdict]`, ""), chromedp.WaitVisible(sel, chromedp.ByQuery))
}
