package multiprocess

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// redemptions is how many requests race to redeem one code.
const redemptions = 64

// TestSharedStore_ThreeProcessesServeOneIssuer runs three oauth2d processes
// on one store, as three instances behind a load balancer that serve one
// issuer, and checks that any of them honours what another issued, and
// that what one consumes or revokes is consumed or revoked for all.
func TestSharedStore_ThreeProcessesServeOneIssuer(t *testing.T) {
	t.Parallel()
	for _, bf := range durableBackends {
		t.Run(bf.name, func(t *testing.T) {
			t.Parallel()
			be := bf.make(t)
			bin := oauth2dBinary(t)
			fx := newFixture()
			config := writeConfig(t, fx, be.dsn)
			ps := start(t, bin, config, be.name+"-1", be.name+"-2", be.name+"-3")
			p1, p2, p3 := ps[0], ps[1], ps[2]
			a := newAgent(t, fx)
			a.requireRoute(t, p2, "/introspect")
			a.requireRoute(t, p1, "/revoke")

			// tok is the grant of the first subtest, rotated by the second;
			// rotatedOut is its first refresh token.
			var tok *oauth2.Token
			var rotatedOut string

			t.Run("CodeIssuedByFirstIsRedeemedBySecond", func(t *testing.T) {
				// The user signs in on the second process and consents on
				// the third: the session and the consent live in the store.
				code, verifier := a.authorize(t, byPage(p1, p2, p3))
				got, err := a.exchange(p2, code, verifier)
				if err != nil {
					t.Fatalf("redeem on %s: %s", p2.name, describe(err))
				}
				if got.AccessToken == "" || got.RefreshToken == "" || got.Type() != "Bearer" {
					t.Fatalf("token response without an access token, a refresh token or type Bearer")
				}
				if !a.live(t, p3, got.AccessToken) {
					t.Errorf("the access token issued by %s is not live on %s", p2.name, p3.name)
				}
				tok = got
			})

			t.Run("RefreshThroughThird", func(t *testing.T) {
				if tok == nil {
					t.Fatal("needs the grant of CodeIssuedByFirstIsRedeemedBySecond")
				}
				got, err := a.refresh(p3, tok.RefreshToken)
				if err != nil {
					t.Fatalf("refresh on %s: %s", p3.name, describe(err))
				}
				if got.AccessToken == "" || got.AccessToken == tok.AccessToken {
					t.Fatal("the refresh did not issue a new access token")
				}
				if got.RefreshToken == "" || got.RefreshToken == tok.RefreshToken {
					t.Fatal("the refresh token was not rotated (refresh_token.rotate is true)")
				}
				if !a.live(t, p1, got.AccessToken) {
					t.Errorf("the access token issued by %s is not live on %s", p3.name, p1.name)
				}
				rotatedOut, tok = tok.RefreshToken, got
			})

			t.Run("RevocationThroughFirstIsSeenBySecond", func(t *testing.T) {
				if tok == nil || rotatedOut == "" {
					t.Fatal("needs the grant of RefreshThroughThird")
				}
				if !a.live(t, p2, tok.AccessToken) {
					t.Fatalf("the access token is not live on %s before the revocation", p2.name)
				}
				// RFC 7009 2.1: revoking a refresh token revokes the grant's
				// access tokens too.
				a.revoke(t, p1, tok.RefreshToken, "refresh_token")
				if _, err := a.refresh(p2, tok.RefreshToken); !isInvalidGrant(err) {
					t.Errorf("revoked refresh token on %s: %s, want 400 invalid_grant", p2.name, describe(err))
				}
				if a.live(t, p2, tok.AccessToken) {
					t.Errorf("the revoked grant's access token is still live on %s", p2.name)
				}
			})

			t.Run("ConcurrentRedemptionsOfOneCodeYieldOneToken", func(t *testing.T) {
				code, verifier := a.authorize(t, byPage(p1, p2, p3))
				form := url.Values{
					"grant_type":    {"authorization_code"},
					"code":          {code},
					"redirect_uri":  {fx.redirectURI},
					"code_verifier": {verifier},
				}
				type outcome struct {
					status  int
					error   string
					access  string
					refresh string
					err     error
				}
				outcomes := make([]outcome, redemptions)
				var ready, done sync.WaitGroup
				startGun := make(chan struct{})
				for i := range redemptions {
					ready.Add(1)
					done.Add(1)
					go func() {
						defer done.Done()
						p := ps[i%len(ps)]
						ready.Done()
						<-startGun
						ans, err := tokenRequest(a.ctx(), a.api, p.url, fx, form)
						outcomes[i] = outcome{ans.status, ans.Error, ans.AccessToken, ans.RefreshToken, err}
					}()
				}
				ready.Wait()
				close(startGun)
				done.Wait()

				var winners []outcome
				refused := 0
				for i, o := range outcomes {
					switch {
					case o.err != nil:
						t.Errorf("redemption %d on %s: %v", i, ps[i%len(ps)].name, o.err)
					case o.status == http.StatusOK && o.access != "":
						winners = append(winners, o)
					case o.status == http.StatusBadRequest && o.error == "invalid_grant":
						refused++
					default:
						t.Errorf("redemption %d on %s: status %d error %q, want 200 with a token or 400 invalid_grant",
							i, ps[i%len(ps)].name, o.status, o.error)
					}
				}
				if len(winners) != 1 || refused != redemptions-1 {
					t.Fatalf("%d concurrent redemptions of one code over %d processes: %d answered 200 with a token and %d invalid_grant, want exactly 1 and %d",
						redemptions, len(ps), len(winners), refused, redemptions-1)
				}
				// RFC 6749 4.1.2: an attempt to use a code twice should
				// revoke the tokens already issued for it; every loser was
				// such an attempt, on one process or another.
				if a.live(t, p3, winners[0].access) {
					t.Errorf("the access token of the code's one redemption is still live after %d replays", redemptions-1)
				}
				if _, err := a.refresh(p1, winners[0].refresh); !isInvalidGrant(err) {
					t.Errorf("the refresh token of the code's one redemption on %s: %s, want 400 invalid_grant", p1.name, describe(err))
				}
			})
		})
	}
}
