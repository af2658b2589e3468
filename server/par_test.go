package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/server"
)

// pushed returns the parameters of an authorization request of confID with
// PKCE (RFC 7636 Appendix B), plus extra.
func pushedParams(extra url.Values) url.Values {
	v := url.Values{
		"response_type": {"code"}, "redirect_uri": {confRedirect}, "scope": {"read"}, "state": {"xyz"},
		"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"},
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

// push pushes params as client id and returns the request_uri.
func (e *senderEnv) push(id string, params url.Values) string {
	e.t.Helper()
	resp, data := e.post("/par", params, id, "")
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("push: %d %v", resp.StatusCode, data)
	}
	uri, _ := data["request_uri"].(string)
	if !strings.HasPrefix(uri, server.RequestURIPrefix) || data["expires_in"] != float64(60) ||
		resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("push answer %v %v", data, resp.Header)
	}
	return uri
}

// authorizeURI calls /authorize with only client_id and request_uri (RFC
// 9126 4).
func (e *senderEnv) authorizeURI(clientID, uri string) *http.Response {
	return e.authorize(url.Values{"client_id": {clientID}, "request_uri": {uri}})
}

func TestPAR_AuthorizeServesThePushedParameters(t *testing.T) {
	e := newSenderEnv(t)
	uri := e.push(confID, pushedParams(nil))
	got := e.redirected(e.authorizeURI(confID, uri))
	if got.Get("state") != "xyz" || got.Get("code") == "" || got.Get("iss") != e.ts.URL {
		t.Fatalf("redirect %v", got)
	}
	resp, data := e.post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {got.Get("code")},
		"redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}, confID, "")
	if resp.StatusCode != http.StatusOK || data["scope"] != "read" {
		t.Fatalf("exchange %d %v", resp.StatusCode, data)
	}
	// The pushed scope, not a front-channel one: parameters beside
	// client_id and request_uri are ignored (RFC 9126 4).
	uri = e.push(confID, pushedParams(nil))
	q := url.Values{"client_id": {confID}, "request_uri": {uri}, "scope": {"write"}, "state": {"forged"}}
	if got := e.redirected(e.authorize(q)); got.Get("state") != "xyz" {
		t.Fatalf("front-channel parameters used: %v", got)
	}
}

func TestPAR_RefusesEveryMisuseOfARequestURI(t *testing.T) {
	cases := []struct {
		name string
		run  func(e *senderEnv, uri string) *http.Response
	}{
		{"used twice", func(e *senderEnv, uri string) *http.Response {
			e.redirected(e.authorizeURI(confID, uri))
			return e.authorizeURI(confID, uri)
		}},
		{"by another client", func(e *senderEnv, uri string) *http.Response { return e.authorizeURI(resID, uri) }},
		{"expired", func(e *senderEnv, uri string) *http.Response {
			e.advance(server.DefaultPARLifetime + time.Second)
			return e.authorizeURI(confID, uri)
		}},
		{"unknown", func(e *senderEnv, uri string) *http.Response {
			return e.authorizeURI(confID, server.RequestURIPrefix+strings.Repeat("A", 43))
		}},
		{"truncated", func(e *senderEnv, uri string) *http.Response { return e.authorizeURI(confID, uri[:len(uri)-1]) }},
		{"without client_id", func(e *senderEnv, uri string) *http.Response {
			return e.authorize(url.Values{"request_uri": {uri}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t)
			uri := e.push(confID, pushedParams(nil))
			before := e.issued()
			resp := tc.run(e, uri)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("answer %d to %q, want 400 shown to the user agent", resp.StatusCode, resp.Header.Get("Location"))
			}
			if tc.name != "used twice" && e.issued() != before {
				t.Fatal("a code was issued")
			}
			if tc.name == "used twice" && e.issued() != before+1 {
				t.Fatalf("%d codes issued, want 1", e.issued()-before)
			}
		})
	}
}

func TestPAR_RefusedRequestURIAnswersInvalidRequestURI(t *testing.T) {
	e := newSenderEnv(t)
	uri := e.push(confID, pushedParams(nil))
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/authorize?"+url.Values{"client_id": {resID}, "request_uri": {uri}}.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	resp, data := e.do(req)
	if resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_request_uri" {
		t.Fatalf("another client's request_uri: %d %v", resp.StatusCode, data)
	}
	// The refusal did not use it up: its own client still can.
	if got := e.redirected(e.authorizeURI(confID, uri)); got.Get("code") == "" {
		t.Fatalf("own client after a foreign use: %v", got)
	}
}

// TestPAR_ResumedAfterTheLoginPage: the login page sends the browser back
// to /authorize with the same request_uri, maybe after its expires_in; it
// is served until the code is issued.
func TestPAR_ResumedAfterTheLoginPage(t *testing.T) {
	e := newSenderEnv(t)
	var loggedIn atomic.Bool
	e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		if !loggedIn.Load() {
			if r.Form.Get("scope") != "read" {
				t.Errorf("the login page saw scope %q, not the pushed one", r.Form.Get("scope"))
			}
			http.Redirect(w, r, "/login", http.StatusFound)
			return "", nil
		}
		return "u1", nil
	})
	uri := e.push(confID, pushedParams(nil))
	if resp := e.authorizeURI(confID, uri); resp.Header.Get("Location") != "/login" {
		t.Fatalf("first visit: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.advance(2 * server.DefaultPARLifetime)
	params, err := e.srv.PushedAuthorizationRequest(t.Context(), confID, uri)
	if err != nil || params.Get("state") != "xyz" {
		t.Fatalf("PushedAuthorizationRequest: %v %v", params, err)
	}
	loggedIn.Store(true)
	if got := e.redirected(e.authorizeURI(confID, uri)); got.Get("code") == "" {
		t.Fatalf("resumed: %v", got)
	}
	if resp := e.authorizeURI(confID, uri); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("after the code: %d", resp.StatusCode)
	}
}

func TestPAR_RequiredGloballyAndPerClient(t *testing.T) {
	plain := func(id string) url.Values {
		q := pushedParams(nil)
		q.Set("client_id", id)
		return q
	}
	e := newSenderEnv(t)
	if got := e.redirected(e.authorize(plain(parOnlyID))); got.Get("error") != "invalid_request" || got.Get("code") != "" {
		t.Fatalf("per client, not pushed: %v", got)
	}
	if got := e.redirected(e.authorizeURI(parOnlyID, e.push(parOnlyID, pushedParams(nil)))); got.Get("code") == "" {
		t.Fatalf("per client, pushed: %v", got)
	}
	if got := e.redirected(e.authorize(plain(confID))); got.Get("code") == "" {
		t.Fatalf("another client, not pushed: %v", got)
	}
	e.srv.Config.PAR.Required = true
	if got := e.redirected(e.authorize(plain(confID))); got.Get("error") != "invalid_request" {
		t.Fatalf("globally, not pushed: %v", got)
	}
	md, _ := e.srv.Metadata()
	if !md.RequirePushedAuthorizationRequests || md.PushedAuthorizationRequestEndpoint != e.ts.URL+"/par" {
		t.Fatalf("metadata %+v", md)
	}
}

func TestPAR_RefusesBadPushes(t *testing.T) {
	cases := []struct {
		name   string
		id     string
		secret string
		params url.Values
		query  string
		method string
		status int
		code   string
	}{
		{"wrong secret", confID, "wrong", pushedParams(nil), "", "", 401, "invalid_client"},
		{"no client authentication", "", "", pushedParams(url.Values{"client_id": {confID}}), "", "", 401, "invalid_client"},
		{"a request_uri pushed", confID, confSecret, pushedParams(url.Values{"request_uri": {"urn:x"}}), "", "", 400, "invalid_request"},
		{"a parameter in the query", confID, confSecret, pushedParams(nil), "scope=write", "", 400, "invalid_request"},
		{"unregistered redirect_uri", confID, confSecret, pushedParams(url.Values{"redirect_uri": {"https://evil.example.com/cb"}}), "", "", 400, "invalid_request"},
		{"unsupported response_type", confID, confSecret, pushedParams(url.Values{"response_type": {"token"}}), "", "", 400, "unsupported_response_type"},
		{"resource with a fragment", resID, confSecret, pushedParams(url.Values{"resource": {resA + "#f"}}), "", "", 400, "invalid_target"},
		{"resource not registered", confID, confSecret, pushedParams(url.Values{"resource": {resA}}), "", "", 400, "invalid_target"},
		{"malformed dpop_jkt", confID, confSecret, pushedParams(url.Values{"dpop_jkt": {"x"}}), "", "", 400, "invalid_request"},
		{"public client without PKCE", pubID, "", url.Values{"client_id": {pubID}, "response_type": {"code"}, "redirect_uri": {pubCB}}, "", "", 400, "invalid_request"},
		{"GET", confID, confSecret, pushedParams(nil), "", http.MethodGet, 405, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			target := e.ts.URL + "/par"
			if tc.query != "" {
				target += "?" + tc.query
			}
			req, _ := http.NewRequest(method, target, strings.NewReader(tc.params.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.id != "" && tc.secret != "" {
				req.SetBasicAuth(tc.id, tc.secret)
			}
			resp, data := e.do(req)
			if resp.StatusCode != tc.status || data["error"] != tc.code || data["request_uri"] != nil {
				t.Fatalf("answer %d %v, want %d %s", resp.StatusCode, data, tc.status, tc.code)
			}
		})
	}
}

// TestPAR_ClientAuthHandlerSeesThePush: the push authenticates through the
// token endpoint's code, so the hook hears it once, with its outcome.
func TestPAR_ClientAuthHandlerSeesThePush(t *testing.T) {
	e := newSenderEnv(t)
	var calls, failures atomic.Int64
	var seen atomic.Value
	e.srv.SetClientAuthHandler(func(r *http.Request, clientID, method string) (func(oauth2.ClientInfo, error), error) {
		calls.Add(1)
		seen.Store(clientID + " " + method + " " + r.URL.Path)
		return func(_ oauth2.ClientInfo, err error) {
			if err != nil {
				failures.Add(1)
			}
		}, nil
	})
	e.push(confID, pushedParams(nil))
	if calls.Load() != 1 || seen.Load() != confID+" client_secret_basic /par" || failures.Load() != 0 {
		t.Fatalf("calls %d, seen %v, failures %d", calls.Load(), seen.Load(), failures.Load())
	}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/par", strings.NewReader(pushedParams(nil).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(confID, "wrong")
	e.do(req)
	if calls.Load() != 2 || failures.Load() != 1 {
		t.Fatalf("after a wrong secret: calls %d, failures %d", calls.Load(), failures.Load())
	}
}

// TestPAR_AnotherProcessServesTheRequestURI: the pushed request lives in
// the shared KVStore.
func TestPAR_AnotherProcessServesTheRequestURI(t *testing.T) {
	e := newSenderEnv(t)
	uri := e.push(confID, pushedParams(nil))
	other := e.newServer()
	mux := http.NewServeMux()
	e.route(mux, other)
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/authorize?"+url.Values{"client_id": {confID}, "request_uri": {uri}}.Encode(), nil)
	w := newRecorder()
	mux.ServeHTTP(w, req)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("other process: %d %q", w.Code, w.Header().Get("Location"))
	}
	if resp := e.authorizeURI(confID, uri); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("first process after the other used it: %d", resp.StatusCode)
	}
}

// TestPAR_DPoPProofBindsTheCode: a proof at the pushed authorization
// request endpoint binds the code as dpop_jkt does (RFC 9449 10.1).
func TestPAR_DPoPProofBindsTheCode(t *testing.T) {
	e := newSenderEnv(t)
	p, other := dpoptest.NewProver(jose.ES256), dpoptest.NewProver(jose.ES256)
	p.Now, other.Now = e.clock, e.clock
	resp, data := e.post("/par", pushedParams(nil), confID, e.proofFor(p, "/par"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push with a proof: %d %v", resp.StatusCode, data)
	}
	code := e.redirected(e.authorizeURI(confID, data["request_uri"].(string))).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}
	resp, data = e.post("/token", form, confID, e.proofFor(other, "/token"))
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	resp, data = e.post("/token", form, confID, e.proofFor(p, "/token"))
	if resp.StatusCode != http.StatusOK || data["token_type"] != "DPoP" {
		t.Fatalf("with the key: %d %v", resp.StatusCode, data)
	}
	// A dpop_jkt of another key than the proof's is refused.
	resp, data = e.post("/par", pushedParams(url.Values{"dpop_jkt": {other.Thumbprint()}}), confID, e.proofFor(p, "/par"))
	wantError(t, resp, data, http.StatusBadRequest, "invalid_dpop_proof")
}

// TestPAR_OneResponseWithSeveralPartsUsesTheRequestOnce: a response that
// issues twice from one request (the code and the token of a hybrid
// response) uses its request_uri up once.
func TestPAR_OneResponseWithSeveralPartsUsesTheRequestOnce(t *testing.T) {
	e := newSenderEnv(t)
	uri := e.push(confID, pushedParams(nil))
	r, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/authorize?"+url.Values{"client_id": {confID}, "request_uri": {uri}}.Encode(), nil)
	req, err := e.srv.ValidationAuthorizeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	req.UserID = "u1"
	for i := 0; i < 2; i++ {
		part := *req
		if _, err := e.srv.GetAuthorizeToken(t.Context(), &part); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	if resp := e.authorizeURI(confID, uri); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the request_uri after the response: %d", resp.StatusCode)
	}
}
