package multiprocess

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// propagation is how soon a change made through one process's admin API
// must be seen by the others (docs/architecture.md section 6.2).
const propagation = time.Second

// TestAdmin_ChangesThroughOneProcessReachTheOthersWithinASecond runs three
// processes on PostgreSQL and on Redis; the first serves the admin API. A
// client created there gets tokens at the second and third within a
// second, and is refused there within a second of its deletion; a user's
// new password works at every process.
func TestAdmin_ChangesThroughOneProcessReachTheOthersWithinASecond(t *testing.T) {
	t.Parallel()
	for _, bf := range []backendFactory{{"postgres", postgresBackend}, {"redis", redisBackend}} {
		t.Run(bf.name, func(t *testing.T) {
			t.Parallel()
			be := bf.make(t)
			bin := oauth2dBinary(t)
			fx := newFixture()
			token := randomHex(24)
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "admin-token")
			if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			adminAddr := freePort(t)
			plain := adminConfig(t, fx, be.dsn, "")
			withAdmin := adminConfig(t, fx, be.dsn, "admin_listen: "+adminAddr+"\nadmin_token_file: "+tokenFile+"\n")
			p1 := spawn(t, be.name+"-1", bin, withAdmin)
			p2 := spawn(t, be.name+"-2", bin, plain)
			p3 := spawn(t, be.name+"-3", bin, plain)
			for _, p := range []*process{p1, p2, p3} {
				p.waitReady()
			}
			admin := func(method, path string, body any) (int, map[string]any) {
				t.Helper()
				var b []byte
				if body != nil {
					b, _ = json.Marshal(body)
				}
				req, _ := http.NewRequest(method, "http://"+adminAddr+path, bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&m)
				return resp.StatusCode, m
			}
			ccToken := func(p *process, secret string) error {
				cc := clientcredentials.Config{ClientID: "mp-svc", ClientSecret: secret, TokenURL: p.url + "/token", AuthStyle: oauth2.AuthStyleInHeader}
				_, err := cc.Token(context.Background())
				return err
			}
			within := func(what string, ok func() bool) {
				t.Helper()
				deadline := time.Now().Add(propagation)
				for !ok() {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not within %v", what, propagation)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			status, body := admin("POST", "/admin/clients", map[string]any{"client_id": "mp-svc", "grant_types": []string{"client_credentials"}})
			if status != http.StatusCreated {
				t.Fatalf("create: %d %v", status, body)
			}
			secret := body["client_secret"].(string)
			for _, p := range []*process{p2, p3} {
				within(p.name+" issues tokens to the new client", func() bool { return ccToken(p, secret) == nil })
			}
			if status, _ := admin("DELETE", "/admin/clients/mp-svc", nil); status != http.StatusNoContent {
				t.Fatalf("delete: %d", status)
			}
			for _, p := range []*process{p2, p3} {
				within(p.name+" refuses the deleted client", func() bool { return ccToken(p, secret) != nil })
			}

			status, body = admin("POST", "/admin/users", map[string]any{"username": "mp-bob", "password": "first-password-1"})
			if status != http.StatusCreated {
				t.Fatalf("create user: %d %v", status, body)
			}
			if status, _ := admin("PUT", "/admin/users/mp-bob", map[string]any{"password": "second-password-2"}); status != 200 {
				t.Fatalf("passwd: %d", status)
			}
			for _, p := range []*process{p1, p2, p3} {
				pc := oauth2.Config{ClientID: fx.clientID, ClientSecret: fx.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: p.url + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
				if _, err := pc.PasswordCredentialsToken(context.Background(), "mp-bob", "second-password-2"); err != nil {
					t.Errorf("%s: the new password: %v", p.name, err)
				}
				if _, err := pc.PasswordCredentialsToken(context.Background(), "mp-bob", "first-password-1"); err == nil {
					t.Errorf("%s: the old password still works", p.name)
				}
			}
		})
	}
}

// adminConfig writes the fixture's configuration with the password grant
// on, and extra YAML appended.
func adminConfig(t *testing.T, fx fixture, store, extra string) string {
	t.Helper()
	cfg := fileConfig{
		Issuer: sharedIssuer, Listen: "127.0.0.1:9096", Store: store, RefreshToken: refreshConfig{Rotate: true},
		Clients: []clientFile{{ID: fx.clientID, Secret: fx.clientSecret, RedirectURIs: []string{fx.redirectURI},
			GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials", "password"}, Scopes: []string{"read", "write"},
			TokenEndpointAuthMethod: "client_secret_basic"}},
		Users: []userFile{{Username: fx.username, Password: fx.password}},
	}
	data, err := yaml.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "grants:\n  password: true\n"+extra...)
	path := filepath.Join(t.TempDir(), "oauth2d.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePort returns a loopback address with a port free at the time.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
