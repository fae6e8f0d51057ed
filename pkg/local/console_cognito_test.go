package local_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/auth/cognitotest"
	"github.com/mycrt/captures/pkg/local/localtest"
)

// TestConsoleCognitoSignInRefused: an answer from the Hosted UI that no sign-in of this tab
// started (its state unknown) signs nobody in, exchanges no code, and says why on the sign-in
// screen, once.
func TestConsoleCognitoSignInRefused(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	svc, _ := localtest.Start(t, webDir)
	fake := &cognitotest.Server{T: t, ClientID: "console-client", IDToken: func() string {
		tok, _ := svc.Issuer.Token("carol", time.Hour)
		return tok
	}}
	srv := fake.Site(t, svc.Handler())
	b := &tab{t: t, ctx: ctx, url: srv.URL}
	b.run("come back with a code nobody asked for",
		chromedp.Navigate(srv.URL+"/?code=forged&state=unknown"),
		chromedp.WaitVisible(`#cognito-sign-in`, chromedp.ByQuery),
		until(`!!document.querySelector("#error")`),
	)
	var search string
	b.eval(`location.search`, &search)
	if got := b.text("#error"); got != "The sign-in answer does not match the sign-in this tab started: sign in again." || b.count("#error") != 1 {
		t.Errorf("the refused sign-in says %q (%d errors shown)", got, b.count("#error"))
	}
	if fake.Exchanged() != 0 || search != "" || b.text("#who") != "" {
		t.Errorf("after a refused sign-in: %d codes exchanged, address bar query %q, signed in as %q", fake.Exchanged(), search, b.text("#who"))
	}
}
