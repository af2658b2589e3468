package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// TestCompatV3_Handlers: go-oauth2 v3's handler signatures, set through
// the adapters, see what v3 passed them and decide as they did.
func TestCompatV3_Handlers(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.PasswordCredentials)
	var seen []string
	e.srv.SetClientScopeHandler(server.ClientScopeHandlerV3(func(clientID, scope string) (bool, error) {
		seen = append(seen, fmt.Sprintf("client %s %s", clientID, scope))
		return scope != "admin", nil
	}))
	e.srv.SetRefreshingScopeHandler(server.RefreshingScopeHandlerV3(func(newScope, oldScope string) (bool, error) {
		seen = append(seen, fmt.Sprintf("refresh %s<%s", newScope, oldScope))
		return newScope == "read", nil
	}))
	e.srv.SetPasswordAuthorizationHandler(server.PasswordAuthorizationHandlerV3(func(username, password string) (string, error) {
		seen = append(seen, "password "+username)
		if username == "test" && password == "test" {
			return "user-test", nil
		}
		return "", nil
	}))
	post := func(form url.Values) (int, map[string]any) {
		w, data := e.token(tokenReq{body: form.Encode(), basic: basic(confID, confSecret)}.build())
		return w.Code, data
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		seen   string
	}{
		{"client scope allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, 200, "client 000000 read"},
		{"client scope refused", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, 400, "client 000000 admin"},
		{"password accepted", url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"test"}, "scope": {"read write"}}, 200, "password test"},
		{"password refused", url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"nope"}}, 400, "password test"},
	}
	var refresh string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			status, data := post(tt.form)
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, data, tt.status)
			}
			if len(seen) == 0 || seen[0] != tt.seen {
				t.Fatalf("handlers saw %q, want %q first", seen, tt.seen)
			}
			if tt.name == "password accepted" {
				refresh, _ = data["refresh_token"].(string)
			}
		})
	}
	if refresh == "" {
		t.Fatal("no refresh token from the password grant")
	}
	seen = nil
	status, data := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"write"}})
	if status != http.StatusBadRequest || len(seen) != 1 || seen[0] != "refresh write<read write" {
		t.Fatalf("refresh to write: %d %v, handlers saw %q", status, data, seen)
	}
	seen = nil
	status, data = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"read"}})
	if status != http.StatusOK || len(seen) != 1 || seen[0] != "refresh read<read write" {
		t.Fatalf("refresh to read: %d %v, handlers saw %q", status, data, seen)
	}
}
