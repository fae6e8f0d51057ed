package local_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// digestPage is what the digest answers, as much as these tests read of it.
type digestPage struct {
	FingerprintCount int
	Fingerprints     []struct{ ID, Fingerprint string }
}

// digestOf reads capture id's digest through the API with query q (limit 1000 unless q says).
func (l *client) digestOf(id int64, q url.Values) digestPage {
	l.t.Helper()
	if !q.Has("limit") {
		q.Set("limit", "1000")
	}
	var d digestPage
	if code := l.call("GET", fmt.Sprintf("/api/captures/%d/digest?%s", id, q.Encode()), nil, &d); code != 200 {
		l.t.Fatalf("digest of capture %d: %d", id, code)
	}
	return d
}

// consoleDigest, on capture id's screen: the digest's total as the API counts it, ten
// fingerprints, ten more through "more", the order by fingerprint, and the database filter.
func consoleDigest(b *tab, api *client, id int64) {
	t := b.t
	t.Helper()
	var d digestPage
	if !poll(20*time.Second, func() bool { d = api.digestOf(id, url.Values{}); return d.FingerprintCount >= 26 }) {
		t.Fatalf("the digest holds %d fingerprints, not the test's 26: %+v", d.FingerprintCount, d.Fingerprints)
	}
	rows := `#digest tr[data-fingerprint]`
	eventually(t, 20*time.Second, "the page shows the API's total, ten at a time", func() bool {
		n := api.digestOf(id, url.Values{}).FingerprintCount
		return b.text("#fingerprints-shown") == fmt.Sprintf("Showing 10 of %d fingerprints.", n) &&
			strings.Contains(b.text("#digest-summary"), fmt.Sprintf("%d fingerprints so far", n)) && b.count(rows) == 10
	})
	b.run("more: the next page", chromedp.Click(`#more-fingerprints`, chromedp.ByQuery),
		until(`document.querySelectorAll(`+js(rows)+`).length === 20`))
	shown := func() []string {
		var fps []string
		b.eval(`[...document.querySelectorAll(`+js(rows)+`)].map(r => r.dataset.fingerprint)`, &fps)
		return fps
	}
	ids := func(d digestPage, n int) []string {
		var out []string
		for _, f := range d.Fingerprints[:min(n, len(d.Fingerprints))] {
			out = append(out, f.ID)
		}
		return out
	}
	if got, want := shown(), ids(api.digestOf(id, url.Values{}), 20); !slices.Equal(got, want) {
		t.Errorf("the first two pages show %q, the API's first 20 are %q", got, want)
	}
	b.run("sort by fingerprint", choose(`#digest-controls select[name=sort]`, "fingerprint"))
	want := ids(api.digestOf(id, url.Values{"sort": {"fingerprint"}}), 10)
	eventually(t, 20*time.Second, "the page in the fingerprints' order", func() bool { return slices.Equal(shown(), want) })
	if b.count(`#more-fingerprints`) != 1 {
		t.Error("no more button on the first page of the new order")
	}
	b.run("only the database shop", typeInto(`#digest-controls input[name=database]`, "shop"))
	shop := api.digestOf(id, url.Values{"sort": {"fingerprint"}, "database": {"shop"}})
	want = ids(shop, 10)
	eventually(t, 20*time.Second, "the page of shop's fingerprints", func() bool {
		return slices.Equal(shown(), want) && strings.Contains(b.text("#digest-summary"), "(filtered)")
	})
	if len(want) < 2 || b.count(`#more-fingerprints`) != 0 {
		t.Errorf("shop's fingerprints %q, a more button %d: want the session's two and no more", want, b.count(`#more-fingerprints`))
	}
	var fp []string
	b.eval(`[...document.querySelectorAll("#digest td.fingerprint > code")].map(c => c.textContent)`, &fp)
	for _, f := range fp {
		if !strings.Contains(f, "orders") {
			t.Errorf("a fingerprint outside shop shown under its filter: %q", f)
		}
	}
}

// consolePaging: 30 scheduled captures more, the list's first page (25), an environment and
// its capture made meanwhile shown by name without a reload, then the next page through the
// Link cursor ("more"), after which there is none.
func consolePaging(b *tab, api *client) {
	t := b.t
	t.Helper()
	var env struct{ ID int64 }
	newEnv := func(name string) int64 {
		body := map[string]any{"envName": name, "host": "127.0.0.1", "port": 1, "dbName": "shop", "user": "root", "check": false}
		if code := api.call("POST", "/api/environments", body, &env); code != 200 {
			t.Fatalf("create environment %s: %d", name, code)
		}
		return env.ID
	}
	schedule := func(envID int64, name string, at time.Time) {
		body := map[string]any{"envId": envID, "name": name, "status": "SCHEDULED", "scheduledStart": at.Format(time.RFC3339)}
		if code := api.call("POST", "/api/captures", body, nil); code != 200 {
			t.Fatalf("schedule %s: %d", name, code)
		}
	}
	plans := newEnv("plans")
	for i := range 30 {
		schedule(plans, fmt.Sprintf("plan %02d", i), time.Date(2031, 1, 1, 0, i, 0, 0, time.UTC))
	}
	rows := `#captures tr[data-capture]`
	b.run("the first page", chromedp.Navigate(b.url+"/#/captures"), until(`document.querySelectorAll(`+js(rows)+`).length === 25 && !!document.querySelector("#more-captures")`))
	later := newEnv("later")
	schedule(later, "later plan", time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC))
	b.run("an environment made meanwhile, by name",
		until(`[...document.querySelectorAll(`+js(rows)+`)].some(r => r.textContent.includes("later plan") && r.cells[1].textContent === "later")`),
		until(`[...document.querySelectorAll("#new-capture select[name=envId] option")].some(o => o.textContent === "later")`))
	var all []struct{ ID int64 }
	api.call("GET", "/api/captures?limit=1000", nil, &all)
	if len(all) <= 25 || len(all) > 50 {
		t.Fatalf("%d captures: the test wants two pages of 25", len(all))
	}
	b.run("more: the next page", chromedp.Click(`#more-captures`, chromedp.ByQuery),
		until(fmt.Sprintf(`document.querySelectorAll(%s).length === %d && !document.querySelector("#more-captures")`, js(rows), len(all))))
	var shown []int64
	b.eval(`[...document.querySelectorAll(`+js(rows)+`)].map(r => Number(r.dataset.capture))`, &shown)
	want := make([]int64, len(all))
	for i, c := range all {
		want[i] = c.ID
	}
	if !slices.Equal(shown, want) {
		t.Errorf("the two pages show %v, the API's order is %v", shown, want)
	}

	// The environments' list pages too: 26 of them, 25 a page.
	var envs []struct{ ID int64 }
	api.call("GET", "/api/environments?limit=1000", nil, &envs)
	for i := len(envs); i < 26; i++ {
		newEnv(fmt.Sprintf("spare %02d", i))
	}
	envRows := `#environments tr[data-env]`
	b.run("the environments' pages",
		chromedp.Navigate(b.url+"/#/environments"),
		until(`document.querySelectorAll(`+js(envRows)+`).length === 25`),
		chromedp.Click(`#more-environments`, chromedp.ByQuery),
		until(`document.querySelectorAll(`+js(envRows)+`).length === 26 && !document.querySelector("#more-environments")`),
		chromedp.Navigate(b.url+"/#/captures"),
		chromedp.WaitVisible(rows, chromedp.ByQuery),
	)

	// A search typed key by key reads once typing pauses, and shows the API's answer to all of it.
	var found []struct{ ID int64 }
	api.call("GET", "/api/captures?search="+url.QueryEscape("PLAN 2"), nil, &found)
	b.run("search as it is typed",
		chromedp.Evaluate(`performance.clearResourceTimings()`, nil),
		chromedp.SendKeys(`#capture-search input[name=name]`, "PLAN 2", chromedp.ByQuery),
		until(fmt.Sprintf(`document.querySelectorAll(%s).length === %d`, js(rows), len(found))))
	var searches int
	b.eval(`performance.getEntriesByType("resource").filter(e => e.name.includes("/api/captures?") && e.name.includes("search=")).length`, &searches)
	if len(found) != 10 || searches < 1 || searches > 2 {
		t.Errorf("the search for PLAN 2: %d captures found (want plan 20 to 29), read %d times for 6 keys (want once, twice at most)", len(found), searches)
	}
}

// screenAt is a screen to look at: its name for the screenshot, its hash route, an element
// that shows once it is drawn, and the nav entry marked current on it.
type screenAt struct{ name, hash, ready, nav string }

// consoleScreens looks at the captures, a capture, the environments and an environment (lookAt).
func consoleScreens(b *tab, captureID int64, envID string) {
	b.t.Helper()
	lookAt(b, []screenAt{
		{"captures", "#/captures", `#captures tr[data-capture]`, "captures"},
		{"capture", fmt.Sprintf("#/captures/%d", captureID), `#digest tr[data-fingerprint]`, "captures"},
		{"environments", "#/environments", `#environments tr[data-env]`, "environments"},
		{"environment", "#/environments/" + envID, `#members tr[data-member]`, "environments"},
	})
}

// lookAt looks at each screen at 1280 and 390 px: no sideways scrolling at 390, real tables,
// live regions only where status is, the current screen marked in the nav, buttons named by
// their row, charts with words, no style attribute, and nothing the content security policy
// refused; and saves a screenshot of each in web/screenshots/ (name-width.png).
func lookAt(b *tab, screens []screenAt) {
	t := b.t
	t.Helper()
	for _, width := range []int{1280, 390} {
		for _, s := range screens {
			name := fmt.Sprintf("%s-%d", s.name, width)
			var seen struct {
				Overflow   bool     `json:"overflow"`
				Live       []string `json:"live"`
				Current    []string `json:"current"`
				Unnamed    []string `json:"unnamed"`
				Styled     []string `json:"styled"`
				Blocks     int      `json:"blocks"`
				Captionles int      `json:"captionless"`
				Loose      int      `json:"loose"`
			}
			b.run(name,
				chromedp.EmulateViewport(int64(width), 900),
				chromedp.Navigate(b.url+"/"+s.hash),
				chromedp.WaitVisible(s.ready, chromedp.ByQuery),
				chromedp.Evaluate(`({
  overflow: document.documentElement.scrollWidth > innerWidth,
  live: [...document.querySelectorAll("[aria-live], [role=status], [role=alert]")].filter(e => e.matches("main, body, header, #app")).map(e => e.tagName),
  current: [...document.querySelectorAll("[aria-current=page]")].map(a => a.dataset.nav),
  unnamed: [...document.querySelectorAll("td.actions button")].filter(b => !b.getAttribute("aria-label")).map(b => b.textContent),
  styled: [...document.querySelectorAll("[style]")].filter(e => !e.closest(".plot")).map(e => e.outerHTML.slice(0, 80)),
  blocks: [...document.querySelectorAll("table")].filter(t => getComputedStyle(t).display !== "table").length,
  captionless: [...document.querySelectorAll("figure.chart")].filter(f => !f.querySelector("figcaption")?.textContent.trim()).length,
  loose: [...document.querySelectorAll("input[type=radio]")].filter(r => !r.closest("fieldset")?.querySelector("legend")).length,
})`, &seen),
				shot(name),
			)
			if seen.Overflow {
				t.Errorf("%s scrolls sideways", name)
			}
			if len(seen.Live) > 0 || !slices.Equal(seen.Current, []string{s.nav}) || len(seen.Unnamed) > 0 || len(seen.Styled) > 0 ||
				seen.Blocks > 0 || seen.Captionles > 0 || seen.Loose > 0 {
				t.Errorf("%s: live regions on %v; current %v (want %s); buttons without a row's name %q; style attributes %q; %d tables not displayed as tables; %d charts without words; %d radios outside a fieldset with a legend",
					name, seen.Live, seen.Current, s.nav, seen.Unnamed, seen.Styled, seen.Blocks, seen.Captionles, seen.Loose)
			}
		}
	}
	var refused []string
	b.eval(`window.cspRefused`, &refused)
	if len(refused) > 0 {
		t.Errorf("the content security policy refused: %q", refused)
	}
}
