package server_test

import (
	"encoding/base64"
	stderrors "errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

// authEvent is one ClientAuthHandler call and the outcome its done got.
type authEvent struct {
	id, method string
	doneCalls  int
	client     string // the authenticated client's ID, "" on failure
	err        error
}

// authRecorder is a ClientAuthHandler that records every call.
type authRecorder struct {
	mu     sync.Mutex
	events []*authEvent
	refuse error // returned instead of a done func when set
}

func (a *authRecorder) handler(r *http.Request, clientID, method string) (func(oauth2.ClientInfo, error), error) {
	ev := &authEvent{id: clientID, method: method}
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	if a.refuse != nil {
		return nil, a.refuse
	}
	return func(c oauth2.ClientInfo, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		ev.doneCalls++
		if c != nil {
			ev.client = c.GetID()
		}
		ev.err = err
	}, nil
}

func (a *authRecorder) only(t *testing.T) *authEvent {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.events) != 1 {
		t.Fatalf("ClientAuthHandler called %d times, want once", len(a.events))
	}
	return a.events[0]
}

func basicHeader(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// hookEndpoint is one endpoint where clients authenticate, with a request
// body that is valid there once the client is.
type hookEndpoint struct {
	name string
	body func(e *env) string
	call func(e *env, r *http.Request) *httptest.ResponseRecorder
	ok   int
}

func hookEndpoints() []hookEndpoint {
	serve := func(h func(*server.Server) func(http.ResponseWriter, *http.Request) error) func(e *env, r *http.Request) *httptest.ResponseRecorder {
		return func(e *env, r *http.Request) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			if err := h(e.srv)(w, r); err != nil {
				e.t.Fatalf("handler returned %v", err)
			}
			return w
		}
	}
	return []hookEndpoint{
		{"token", func(*env) string { return "grant_type=client_credentials&scope=read" },
			serve(func(s *server.Server) func(http.ResponseWriter, *http.Request) error { return s.HandleTokenRequest }), 200},
		{"revocation", func(*env) string { return tokenForm("unknown-token") }, serve(revocation), 200},
		{"introspection", func(*env) string { return tokenForm("unknown-token") }, serve(introspection), 200},
		{"device authorization", func(*env) string { return "scope=read" },
			serve(func(s *server.Server) func(http.ResponseWriter, *http.Request) error {
				return s.HandleDeviceAuthorizationRequest
			}), 200},
	}
}

// TestClientAuthHandler_CalledOncePerRequestWithTheClaimedClient: at every
// endpoint where a client authenticates (token, revocation, introspection,
// device authorization), the ClientAuthHandler is told once, before
// anything is verified, the client the request claims to be and its
// method, and done is told the outcome: the client, or invalid_client. The
// Authorization header variants the server accepts (a tab after the
// scheme, extra spaces, a lower-case scheme) reach it too, so that a
// throttle on it cannot be stepped around.
func TestClientAuthHandler_CalledOncePerRequestWithTheClaimedClient(t *testing.T) {
	tests := []struct {
		name       string
		header     string // Authorization
		form       string // added to the body
		wantID     string
		wantMethod string
		wantOK     bool
	}{
		{"Basic", "Basic " + basicHeader(confID, confSecret), "", confID, server.AuthMethodBasic, true},
		{"Basic, wrong secret", "Basic " + basicHeader(confID, "wrong"), "", confID, server.AuthMethodBasic, false},
		{"Basic with a tab", "Basic\t" + basicHeader(confID, "wrong"), "", confID, server.AuthMethodBasic, false},
		{"Basic with extra spaces", "Basic    " + basicHeader(confID, "wrong") + "  ", "", confID, server.AuthMethodBasic, false},
		{"Basic with a tab and spaces, right secret", "Basic\t  " + basicHeader(confID, confSecret) + "\t", "", confID, server.AuthMethodBasic, true},
		{"lower-case scheme", "basic " + basicHeader(confID, "wrong"), "", confID, server.AuthMethodBasic, false},
		{"Basic, unknown client", "Basic " + basicHeader("nobody", "x"), "", "nobody", server.AuthMethodBasic, false},
		{"client_secret_post", "", "client_id=" + confID + "&client_secret=" + url.QueryEscape(confSecret), confID, server.AuthMethodPost, true},
		{"client_secret_post, wrong secret", "", "client_id=" + confID + "&client_secret=wrong", confID, server.AuthMethodPost, false},
		{"none for a confidential client", "", "client_id=" + confID, confID, server.AuthMethodNone, false},
	}
	for _, ep := range hookEndpoints() {
		for _, tt := range tests {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				de := newDeviceEnv(t)
				e := de.env
				rec := &authRecorder{}
				e.srv.SetClientAuthHandler(rec.handler)
				body := ep.body(e)
				if tt.form != "" {
					body += "&" + tt.form
				}
				r := tokenReq{body: body}.build()
				if tt.header != "" {
					r.Header.Set("Authorization", tt.header)
				}
				w := ep.call(e, r)
				ev := rec.only(t)
				if ev.id != tt.wantID || ev.method != tt.wantMethod {
					t.Fatalf("hook got (%q, %q), want (%q, %q)", ev.id, ev.method, tt.wantID, tt.wantMethod)
				}
				if ev.doneCalls != 1 {
					t.Fatalf("done called %d times", ev.doneCalls)
				}
				if tt.wantOK {
					if ev.err != nil || ev.client != tt.wantID || w.Code != ep.ok {
						t.Fatalf("done(%q, %v), status %d: %s", ev.client, ev.err, w.Code, w.Body)
					}
					return
				}
				if !stderrors.Is(ev.err, errors.ErrInvalidClient) || ev.client != "" {
					t.Fatalf("done(%q, %v), want invalid_client", ev.client, ev.err)
				}
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			})
		}
	}
}

// TestClientAuthHandler_PublicClient: a public client naming itself with
// client_id is reported with the none method, at the endpoints it may use.
func TestClientAuthHandler_PublicClient(t *testing.T) {
	de := newDeviceEnv(t)
	rec := &authRecorder{}
	de.srv.SetClientAuthHandler(rec.handler)
	w, _ := de.deviceRequest(tokenReq{body: "client_id=" + tvID + "&scope=read"}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ev := rec.only(t); ev.id != tvID || ev.method != server.AuthMethodNone || ev.client != tvID || ev.err != nil {
		t.Fatalf("hook got %+v", ev)
	}
}

// TestClientAuthHandler_AssertionClaimsItsSubject: a private_key_jwt
// request without client_id is reported with the assertion's subject, read
// before the assertion is verified; a forged assertion is reported the same
// way and fails.
func TestClientAuthHandler_AssertionClaimsItsSubject(t *testing.T) {
	k := testKeys()
	tests := []struct {
		name      string
		assertion func(t *testing.T) string
		clientID  string
		wantID    string
		wantOK    bool
	}{
		{"subject, no client_id", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(pkID))
		}, "", pkID, true},
		{"subject with client_id", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(pkID))
		}, pkID, pkID, true},
		{"signed with another key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, k.otherRSA, "rsa1", claimsFor(pkID))
		}, "", pkID, false},
		{"iss only", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", with(claimsFor(pkID), "sub", nil))
		}, "", pkID, false},
		{"not a JWT", func(*testing.T) string { return "not.a.jwt" }, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := assertionEnv(t)
			rec := &authRecorder{}
			e.srv.SetClientAuthHandler(rec.handler)
			v := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {server.ClientAssertionTypeJWTBearer},
				"client_assertion": {tt.assertion(t)}}
			if tt.clientID != "" {
				v.Set("client_id", tt.clientID)
			}
			w, _ := e.token(tokenReq{body: v.Encode()}.build())
			ev := rec.only(t)
			if ev.id != tt.wantID || ev.method != server.AuthMethodPrivateKeyJWT || ev.doneCalls != 1 {
				t.Fatalf("hook got %+v, want id %q", ev, tt.wantID)
			}
			if tt.wantOK != (w.Code == http.StatusOK) || tt.wantOK != (ev.err == nil) {
				t.Fatalf("status %d, done error %v", w.Code, ev.err)
			}
		})
	}
}

// TestClientAuthHandler_RefusalStopsBeforeVerification: a hook that refuses
// (a throttle answering 429) is answered with its status and headers, even
// for the right secret, and nothing is verified or issued.
func TestClientAuthHandler_RefusalStopsBeforeVerification(t *testing.T) {
	e := newEnv(t)
	rec := &authRecorder{refuse: errors.WithStatus(errors.WithDescription(errors.ErrInvalidRequest, "Too many attempts"),
		http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}})}
	e.srv.SetClientAuthHandler(rec.handler)
	before := e.issued()
	w, data := e.token(tokenReq{body: "grant_type=client_credentials", basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" || data["access_token"] != nil {
		t.Fatalf("status %d, Retry-After %q: %v", w.Code, w.Header().Get("Retry-After"), data)
	}
	if ev := rec.only(t); ev.doneCalls != 0 {
		t.Fatal("done was called for a refused request")
	}
	if e.issued() != before {
		t.Fatal("a token was issued")
	}
}

// TestClientAuthHandler_MalformedRequestsAreNotReported: a request refused
// as malformed before it names a client verifies nothing and is not
// reported.
func TestClientAuthHandler_MalformedRequestsAreNotReported(t *testing.T) {
	tests := []struct {
		name   string
		header string
		body   string
		query  string
	}{
		{"two methods", "Basic " + basicHeader(confID, confSecret), "client_id=" + confID + "&client_secret=x", ""},
		{"secret in the query", "", "client_id=" + confID, "client_secret=x"},
		{"Basic without credentials", "Basic ", "", ""},
		{"Basic without a colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rec := &authRecorder{}
			e.srv.SetClientAuthHandler(rec.handler)
			r := tokenReq{body: "grant_type=client_credentials&" + tt.body, query: tt.query}.build()
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w, _ := e.token(r)
			if w.Code == http.StatusOK || len(rec.events) != 0 {
				t.Fatalf("status %d, %d hook calls", w.Code, len(rec.events))
			}
		})
	}
}

// TestTokenIssuedHandler_SeesEveryIssuedToken: the TokenIssuedHandler hears
// each token the token endpoint issues, with its grant type and record,
// and nothing of a refused request.
func TestTokenIssuedHandler_SeesEveryIssuedToken(t *testing.T) {
	e := newEnv(t)
	type issued struct {
		gt     oauth2.GrantType
		client string
		access string
	}
	var got []issued
	e.srv.SetTokenIssuedHandler(func(r *http.Request, gt oauth2.GrantType, ti oauth2.TokenInfo) {
		got = append(got, issued{gt, ti.GetClientID(), ti.GetAccess()})
	})
	access, refresh := e.codeGrant(t, confID, confRedirect)
	w, data := e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh), basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("refresh: %d %v", w.Code, data)
	}
	if w, _ := e.token(tokenReq{body: "grant_type=client_credentials", basic: basic(confID, "wrong")}.build()); w.Code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", w.Code)
	}
	want := []issued{
		{oauth2.AuthorizationCode, confID, access},
		{oauth2.Refreshing, confID, data["access_token"].(string)},
	}
	if len(got) != len(want) {
		t.Fatalf("handler saw %d tokens, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("token %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
