package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

// assertionAuth is a stand-in for private_key_jwt (RFC 7523 2.2): the
// client_assertion must be "signed-by-<client_id>".
type assertionAuth struct{ e *env }

func (a assertionAuth) Method() string { return "private_key_jwt" }

func (a assertionAuth) Match(r *http.Request, p server.Params) bool {
	return p.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
}

func (a assertionAuth) Authenticate(ctx context.Context, r *http.Request, p server.Params) (oauth2.ClientInfo, error) {
	const prefix = "signed-by-"
	as := p.Get("client_assertion")
	if len(as) <= len(prefix) || as[:len(prefix)] != prefix {
		return nil, errors.ErrInvalidClient
	}
	c, err := a.e.mgr.GetClient(ctx, as[len(prefix):])
	if err != nil {
		return nil, errors.ErrInvalidClient
	}
	return c, nil
}

func TestClientAuthenticator_ExtensionMethod(t *testing.T) {
	const jwtType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	assertion := func(id string, extra ...string) string {
		v := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {jwtType}, "client_assertion": {"signed-by-" + id}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name       string
		req        tokenReq
		wantStatus int
		wantCode   string
	}{
		{"client registered for the method", tokenReq{body: assertion("jwt-client")}, 200, ""},
		{"bad assertion", tokenReq{body: assertion("nobody")}, 401, "invalid_client"},
		{"client_id differing from the assertion's client", tokenReq{body: assertion("jwt-client", "client_id", confID)}, 401, "invalid_client"},
		{"client not registered for the method", tokenReq{body: assertion(confID)}, 401, "invalid_client"},
		{"assertion and Basic together (RFC 6749 2.3)", tokenReq{body: assertion("jwt-client"), basic: basic(confID, confSecret)}, 400, "invalid_request"},
		{"assertion and client_secret together", tokenReq{body: assertion("jwt-client", "client_id", "jwt-client", "client_secret", "x")}, 400, "invalid_request"},
		{"the registered method excludes a secret", tokenReq{body: "grant_type=client_credentials&client_id=jwt-client&client_secret=" + url.QueryEscape(confSecret)}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.clients.Set("jwt-client", &models.Client{ID: "jwt-client", Secret: confSecret, TokenEndpointAuthMethod: "private_key_jwt"}); err != nil {
				t.Fatal(err)
			}
			e.srv.AddClientAuthenticator(assertionAuth{e})
			before := e.issued()
			w, data := e.token(tt.req.build())
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", w.Code, tt.wantStatus, data)
			}
			checkTokenHeaders(t, w)
			if tt.wantCode != "" && (data["error"] != tt.wantCode || e.issued() != before) {
				t.Fatalf("error %v, issued %d", data["error"], e.issued()-before)
			}
		})
	}
}

func TestClientAuth_SecretsAreFormDecoded(t *testing.T) {
	const tricky = "s e:c+r%t&=é"
	for _, st := range []struct {
		name string
		req  tokenReq
	}{
		{"Basic (RFC 6749 2.3.1)", tokenReq{body: "grant_type=client_credentials", basic: basic("id:with space", tricky)}},
		{"post", tokenReq{body: url.Values{"grant_type": {"client_credentials"}, "client_id": {"id:with space"}, "client_secret": {tricky}}.Encode()}},
	} {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.clients.Set("id:with space", &models.Client{ID: "id:with space", Secret: tricky}); err != nil {
				t.Fatal(err)
			}
			w, data := e.token(st.req.build())
			if w.Code != 200 {
				t.Fatalf("status %d: %v", w.Code, data)
			}
		})
	}
}

// plainClient implements only oauth2.ClientInfo: its secret is compared by
// the server's SHA-256 and constant-time path.
type plainClient struct{ id, secret string }

func (c plainClient) GetID() string     { return c.id }
func (c plainClient) GetSecret() string { return c.secret }
func (c plainClient) GetDomain() string { return "" }
func (c plainClient) IsPublic() bool    { return false }
func (c plainClient) GetUserID() string { return "" }

func TestClientAuth_ClientWithoutVerifier(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		presented string
		want      int
	}{
		{"right secret", "plain-secret", "plain-secret", 200},
		{"wrong secret", "plain-secret", "plain-secreT", 401},
		{"client without a secret matches no secret", "", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.clients.Set("plain", plainClient{"plain", tt.secret}); err != nil {
				t.Fatal(err)
			}
			w, data := e.token(tokenReq{body: "grant_type=client_credentials", basic: basic("plain", tt.presented)}.build())
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %v", w.Code, tt.want, data)
			}
		})
	}
}
