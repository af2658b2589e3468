package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

// paramsMap is a server.Params of plain values, as an application's own
// caller of a ClientAuthenticator would pass.
type paramsMap map[string]string

func (p paramsMap) Get(key string) string { return p[key] }

// FuzzClaimedClientID reads the claimed client of arbitrary assertions, as
// the server does before it verifies anything: it must never panic, and a
// client it names must be the sub of the assertion's payload, else its
// iss, as encoding/json reads them (RFC 7523 3). The same answer comes
// whether the server's own parameters or another Params carry the
// assertion.
func FuzzClaimedClientID(f *testing.F) {
	seg := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := seg(map[string]string{"alg": "RS256"})
	f.Add(head + "." + seg(map[string]any{"iss": "a", "sub": "a"}) + ".sig")
	f.Add(head + "." + seg(map[string]any{"iss": "only-iss"}) + ".sig")
	f.Add(head + "." + seg(map[string]any{"sub": 7}) + ".sig")
	f.Add(head + "." + seg(map[string]any{"sub": "x\u0000y", "iss": "z"}) + ".")
	f.Add(head + ".%%%." + "sig")
	f.Add("a.b")
	f.Add("..")
	f.Add("")
	f.Add(head + "." + seg(map[string]any{"sub": strings.Repeat("s", 5000)}) + ".sig")

	e := assertionEnv(f)
	var claimer server.ClientIDClaimer
	for _, a := range e.srv.ClientAuthenticators {
		if c, ok := a.(server.ClientIDClaimer); ok {
			claimer = c
		}
	}
	if claimer == nil {
		f.Fatal("no authenticator claims client IDs")
	}
	f.Fuzz(func(t *testing.T, assertion string) {
		got := claimer.ClaimedClientID(nil, paramsMap{"client_assertion": assertion})

		// Through the server's own parameters, in a token request: the
		// ClientAuthHandler hears the same client.
		body := url.Values{"grant_type": {"client_credentials"}, "client_assertion": {assertion},
			"client_assertion_type": {server.ClientAssertionTypeJWTBearer}}
		heard, called := "", false
		e.srv.ClientAuthHandler = func(_ *http.Request, id, _ string) (func(oauth2.ClientInfo, error), error) {
			heard, called = id, true
			return nil, errors.ErrAccessDenied
		}
		w := httptest.NewRecorder()
		_ = e.srv.HandleTokenRequest(w, tokenReq{body: body.Encode()}.build())
		if called && heard != got {
			t.Fatalf("the server told the hook %q, ClaimedClientID says %q", heard, got)
		}
		if got == "" {
			return
		}
		parts := strings.Split(assertion, ".")
		if len(parts) != 3 {
			t.Fatalf("claimed %q from %d segments", got, len(parts))
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatalf("claimed %q from an undecodable payload", got)
		}
		var c struct {
			Iss string `json:"iss"`
			Sub string `json:"sub"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("claimed %q from a payload encoding/json refuses: %v", got, err)
		}
		want := c.Sub
		if want == "" {
			want = c.Iss
		}
		if got != want {
			t.Fatalf("claimed %q, the payload's sub/iss is %q", got, want)
		}
	})
}
