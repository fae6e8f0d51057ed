package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// tab is a browser tab on the console with the steps of a test: each step gets 30 s, so that
// one that fails leaves the browser up to show the page, which the failure prints.
type tab struct {
	t   *testing.T
	ctx context.Context
	url string // the console's origin
}

// run runs a step's actions, failing the test with the page's main when one fails.
func (b *tab) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		var main string
		if perr := chromedp.Run(b.ctx, chromedp.OuterHTML("main", &main, chromedp.ByQuery)); perr != nil {
			main = perr.Error()
		}
		b.t.Fatalf("%s: %v\npage: %s", step, err, main)
	}
}

// until waits, up to 20 s, for a JavaScript expression to be true in the page.
func until(expr string) chromedp.Action {
	var ok bool
	return chromedp.Poll(expr, &ok, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eval evaluates a JavaScript expression in the page into out.
func (b *tab) eval(expr string, out any) {
	b.t.Helper()
	b.run("evaluate "+expr, chromedp.Evaluate(expr, out))
}

// count is how many elements match the CSS selector.
func (b *tab) count(sel string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf("document.querySelectorAll(%s).length", js(sel)), &n)
	return n
}

// text is the text of the first element matching the CSS selector, "" if there is none.
func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf("document.querySelector(%s)?.textContent ?? ''", js(sel)), &s)
	return s
}

// value is the value of the form field matching the CSS selector.
func (b *tab) value(sel string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf("document.querySelector(%s)?.value ?? ''", js(sel)), &s)
	return s
}

// choose picks value in the select matching sel, as a person would (a change event).
func choose(sel, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, js(sel), js(value)), nil)
}

// typeInto replaces what the field matching sel holds with text, typed key by key.
func typeInto(sel, text string) chromedp.Action {
	clear := chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%s).value = ""`, js(sel)), nil)
	if text == "" {
		return clear
	}
	return chromedp.Tasks{clear, chromedp.SendKeys(sel, text, chromedp.ByQuery)}
}

// cspWatch records, in every document the tab opens, the content security policy's refusals
// (window.cspRefused), so a test can assert there were none.
func cspWatch() chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.cspRefused = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspRefused.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || "")));`).Do(ctx)
		return err
	})
}
