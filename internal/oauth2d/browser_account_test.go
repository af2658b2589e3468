package oauth2d

import (
	"context"
	stderrors "errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// TestBrowser_AccountPageWithdrawsAnApplication drives headless Chromium:
// the user signs in and allows the client, which exchanges the code with
// golang.org/x/oauth2; on /account the user withdraws the application; its
// refresh token is then refused, its access token inactive at
// introspection, and the client's next request shows the consent page
// again.
func TestBrowser_AccountPageWithdrawsAnApplication(t *testing.T) {
	tb := newTab(t)
	ctx, save, do := tb.ctx, tb.save, tb.do
	cb := newCallback(t)
	srv := startApp(t, testConfig(cb.URL+"/callback"))
	conf := &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  cb.URL + "/callback",
		Scopes:       []string{"read"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/authorize",
			TokenURL:  srv.URL + "/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
	app := `li.app[data-client="` + testClientID + `"]`

	verifier := oauth2.GenerateVerifier()
	do("open the authorize URL", chromedp.Navigate(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(chromedp.ID("username")))
	do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), testUsername),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	do("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	q := cb.wait(t)
	do("load the client's page", chromedp.WaitVisible(chromedp.ID("done")))
	hc := context.WithValue(ctx, oauth2.HTTPClient, srv.Client())
	tok, err := conf.Exchange(hc, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v", err)
	}

	do("open the account page", chromedp.Navigate(srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS(app)))
	listed, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(app)))
	if err != nil || !strings.Contains(listed, testClientID) || !strings.Contains(listed, "read") || !strings.Contains(listed, "Allowed since") {
		t.Fatalf("the account page lists %q (%v)", listed, err)
	}
	save("account.png")
	do("withdraw", chromedp.Click(chromedp.CSS(app+" button.withdraw")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.app").length`)); err != nil || n != 0 {
		t.Fatalf("after withdrawing the page lists %d applications (%v)", n, err)
	}
	save("account-withdrawn.png")

	// The tokens died at once.
	expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	_, err = conf.TokenSource(hc, expired).Token()
	var re *oauth2.RetrieveError
	if !stderrors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after withdrawing: %v, want invalid_grant", err)
	}
	if introspectActive(t, srv, testClientID, testClientSecret, tok.AccessToken) {
		t.Fatal("the access token is active after withdrawing")
	}
	// The client asks again: the consent page is shown.
	do("authorize again", chromedp.Navigate(conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, srv.URL+"/consent?") {
		t.Fatalf("after withdrawing, the request went to %q (%v)", redactLocation(loc), err)
	}
}

// redactLocation hides the query of a URL in a failure message.
func redactLocation(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	u.RawQuery = ""
	return u.String()
}
