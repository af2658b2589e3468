package oauth2d

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	root "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/store"
)

// testAdminToken is the admin token of the tests: 32 bytes or more.
const testAdminToken = "admin-token-0123456789abcdef-0123456789"

// adminServer is an App with its admin API served on 127.0.0.1.
type adminServer struct {
	*testServer
	AdminURL string
	Docs     root.DocumentStore
}

// startAdmin starts an App on the store kind ("memory" or "sqlite") with
// the admin API on, the password grant on and a fast admin throttle.
func startAdmin(t *testing.T, kind string, opts ...func(*Config)) *adminServer {
	t.Helper()
	cfg := testConfig(testRedirect)
	for _, o := range opts {
		o(&cfg)
	}
	cfg.Grants.Password = true
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "password")
	cfg.Secret = testAtRestSecret
	if kind == "sqlite" {
		cfg.Store = "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db")
	}
	cfg.AdminListen = "127.0.0.1:0"
	cfg.AdminToken = testAdminToken
	cfg.AdminThrottle = ThrottleConfig{Delay: time.Millisecond, MaxDelay: time.Millisecond}
	srv := startApp(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.App.AdminHandler()}}
	as.Start()
	t.Cleanup(as.Close)
	docs, _ := srv.App.rawStore.(root.DocumentStore)
	if docs == nil {
		t.Fatalf("the %s store keeps no documents", kind)
	}
	return &adminServer{testServer: srv, AdminURL: as.URL, Docs: docs}
}

// call sends an admin request from c (http.DefaultClient when nil) with
// the token (none when "") and returns the status, the decoded JSON body
// and the response.
func (s *adminServer) call(t *testing.T, c *http.Client, method, path, token, body string) (int, map[string]any, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.AdminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, m, resp
}

// snapshot returns every client and user document of the store, and the
// marks of deleted client IDs.
func (s *adminServer) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []string{docClient, docUser, docClientDeleted} {
		if err := eachDocument(context.Background(), s.Docs, kind, func(d root.Document) { out[kind+"/"+d.ID] = string(d.Body) }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func clientCredentialsToken(t *testing.T, srv *testServer, id, secret string) (*oauth2.Token, error) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.URL + "/token", Scopes: []string{"read"},
		AuthStyle: oauth2.AuthStyleInHeader}
	return cc.Token(context.Background())
}

func TestAdmin_ClientLifecycle(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startAdmin(t, kind)
			status, body, resp := s.call(t, nil, "POST", "/admin/clients", testAdminToken,
				`{"client_id":"svc","grant_types":["client_credentials"],"scope":"read write","client_name":"Service"}`)
			if status != http.StatusCreated || resp.Header.Get("Location") != "/admin/clients/svc" {
				t.Fatalf("create: %d %v Location %q", status, body, resp.Header.Get("Location"))
			}
			secret, _ := body["client_secret"].(string)
			if len(secret) < 32 || body["client_secret_hash"] != nil || body["source"] != "admin" {
				t.Fatalf("create answered %v: want a made secret, no hash, source admin", body)
			}
			tok, err := clientCredentialsToken(t, s.testServer, "svc", secret)
			if err != nil || tok.AccessToken == "" {
				t.Fatalf("client_credentials with the created client: %v", err)
			}
			if _, err := clientCredentialsToken(t, s.testServer, "svc", "wrong-secret-wrong-secret"); err == nil {
				t.Fatal("a wrong secret got a token")
			}

			status, body, _ = s.call(t, nil, "GET", "/admin/clients/svc", testAdminToken, "")
			if status != 200 || body["client_secret"] != nil || body["client_secret_hash"] != nil || body["client_name"] != "Service" {
				t.Fatalf("get: %d %v", status, body)
			}
			// PUT replaces the metadata and keeps the secret.
			status, body, _ = s.call(t, nil, "PUT", "/admin/clients/svc", testAdminToken,
				`{"grant_types":["client_credentials"],"scope":"read","client_name":"Renamed"}`)
			if status != 200 || body["client_name"] != "Renamed" || body["client_secret"] != nil {
				t.Fatalf("put: %d %v", status, body)
			}
			if _, err := clientCredentialsToken(t, s.testServer, "svc", secret); err != nil {
				t.Fatalf("the secret after a PUT without one: %v", err)
			}
			// The list holds the YAML client, read-only, and the store's.
			status, body, _ = s.call(t, nil, "GET", "/admin/clients?limit=1", testAdminToken, "")
			items, _ := body["items"].([]any)
			if status != 200 || len(items) != 1 || body["next"] != "svc" {
				t.Fatalf("list limit=1: %d %v", status, body)
			}
			status, body, _ = s.call(t, nil, "GET", "/admin/clients?after=svc", testAdminToken, "")
			items, _ = body["items"].([]any)
			if status != 200 || len(items) != 1 || items[0].(map[string]any)["source"] != "config" || body["next"] != nil {
				t.Fatalf("list after=svc: %d %v", status, body)
			}
			if status, _, _ := s.call(t, nil, "DELETE", "/admin/clients/"+testClientID, testAdminToken, ""); status != http.StatusForbidden {
				t.Errorf("delete of a YAML client: %d, want 403", status)
			}
			if status, _, _ := s.call(t, nil, "DELETE", "/admin/clients/svc", testAdminToken, ""); status != http.StatusNoContent {
				t.Fatalf("delete: %d", status)
			}
			if _, err := clientCredentialsToken(t, s.testServer, "svc", secret); err == nil {
				t.Fatal("a deleted client got a token")
			}
			if status, _, _ := s.call(t, nil, "GET", "/admin/clients/svc", testAdminToken, ""); status != http.StatusNotFound {
				t.Errorf("get after delete: %d, want 404", status)
			}
			logs := s.Logs.String()
			for _, secretText := range []string{secret, testAdminToken} {
				if strings.Contains(logs, secretText) {
					t.Error("a secret is in the logs")
				}
			}
			for _, action := range []string{"client.create", "client.update", "client.delete"} {
				if !strings.Contains(logs, "msg=audit actor=admin-token action="+action+" target=svc") {
					t.Errorf("no audit line for %s in the logs:\n%s", action, logs)
				}
			}
		})
	}
}

func TestAdmin_BadInputChangesNothing(t *testing.T) {
	s := startAdmin(t, "memory")
	if status, body, _ := s.call(t, nil, "POST", "/admin/clients", testAdminToken,
		`{"client_id":"svc","grant_types":["client_credentials"]}`); status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	if status, body, _ := s.call(t, nil, "POST", "/admin/users", testAdminToken,
		`{"username":"bob","password":"bob-password-1"}`); status != http.StatusCreated {
		t.Fatalf("create user: %d %v", status, body)
	}
	before := s.snapshot(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		field                           string
	}{
		{"no token", "POST", "/admin/clients", "", `{"client_id":"x","grant_types":["client_credentials"]}`, 401, ""},
		{"wrong token", "POST", "/admin/clients", "not-the-admin-token-not-the-admin-token", `{"client_id":"x","grant_types":["client_credentials"]}`, 401, ""},
		{"malformed JSON", "POST", "/admin/clients", testAdminToken, `{"client_id":"x",`, 400, ""},
		{"unknown field", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","grant_types":["client_credentials"],"colour":"red"}`, 400, ""},
		{"two JSON values", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","grant_types":["client_credentials"]} {}`, 400, ""},
		{"a stored hash is not input", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","client_secret_hash":"$argon2id$"}`, 400, ""},
		{"redirect URI with a fragment", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","redirect_uris":["https://app.example/cb#f"]}`, 400, "redirect_uris[0]"},
		{"http redirect URI on a public host", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","redirect_uris":["http://app.example/cb"]}`, 400, "redirect_uris[0]"},
		{"unknown grant", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","grant_types":["magic"]}`, 400, "grant_types[0]"},
		{"short secret", "POST", "/admin/clients", testAdminToken, `{"client_id":"x","grant_types":["client_credentials"],"client_secret":"short"}`, 400, "client_secret"},
		{"client ID of a YAML client", "POST", "/admin/clients", testAdminToken, `{"client_id":"` + testClientID + `","grant_types":["client_credentials"]}`, 409, ""},
		{"client ID of a stored client", "POST", "/admin/clients", testAdminToken, `{"client_id":"svc","grant_types":["client_credentials"]}`, 409, ""},
		{"client ID of a user", "POST", "/admin/clients", testAdminToken, `{"client_id":"bob","grant_types":["client_credentials"]}`, 409, ""},
		{"username of a YAML user", "POST", "/admin/users", testAdminToken, `{"username":"` + testUsername + `","password":"pw-pw-pw-pw"}`, 409, ""},
		{"username of a stored user", "POST", "/admin/users", testAdminToken, `{"username":"bob","password":"pw-pw-pw-pw"}`, 409, ""},
		{"username of a client", "POST", "/admin/users", testAdminToken, `{"username":"svc","password":"pw-pw-pw-pw"}`, 409, ""},
		{"user without a password", "POST", "/admin/users", testAdminToken, `{"username":"carol"}`, 400, "password"},
		{"user with a bad claim", "POST", "/admin/users", testAdminToken, `{"username":"carol","password":"pw-pw-pw-pw","claims":{"email_verified":"yes"}}`, 400, "claims.email_verified"},
		{"PUT of a YAML client", "PUT", "/admin/clients/" + testClientID, testAdminToken, `{"grant_types":["client_credentials"]}`, 403, ""},
		{"PUT with another client ID", "PUT", "/admin/clients/svc", testAdminToken, `{"client_id":"other","grant_types":["client_credentials"]}`, 400, "client_id"},
		{"PUT of a missing client", "PUT", "/admin/clients/nobody", testAdminToken, `{"grant_types":["client_credentials"]}`, 404, ""},
		{"PUT of a user with a fragment-free bad claim", "PUT", "/admin/users/bob", testAdminToken, `{"claims":{"email":7}}`, 400, ""},
		{"DELETE of a YAML user", "DELETE", "/admin/users/" + testUsername, testAdminToken, "", 403, ""},
		{"DELETE of a missing user", "DELETE", "/admin/users/nobody", testAdminToken, "", 404, ""},
		{"DELETE of a missing client", "DELETE", "/admin/clients/nobody", testAdminToken, "", 404, ""},
		{"limit too large", "GET", "/admin/clients?limit=501", testAdminToken, "", 400, "limit"},
		{"unknown route", "GET", "/admin/nothing", testAdminToken, "", 404, ""},
		{"bad rotation delay", "POST", "/admin/keys/rotate", testAdminToken, `{"delay":"soon"}`, 400, "delay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, resp := s.call(t, nil, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, body, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if body["status"] != float64(tt.status) || body["title"] == "" || body["type"] == "" || body["detail"] == "" {
				t.Errorf("not a problem of RFC 9457: %v", body)
			}
			if tt.field != "" && body["field"] != tt.field {
				t.Errorf("field %v, want %s (%v)", body["field"], tt.field, body)
			}
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if after := s.snapshot(t); !mapsEqual(before, after) {
				t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAdmin_WrongTokenIsThrottledPerAddress(t *testing.T) {
	s := startAdmin(t, "memory")
	attacker, owner := clientFrom(t, attackerIP), clientFrom(t, ownerIP)
	var statuses []int
	for range 7 {
		status, _, _ := s.call(t, attacker, "GET", "/admin/clients", "wrong-token-wrong-token-wrong-token", "")
		statuses = append(statuses, status)
	}
	if statuses[0] != 401 || statuses[len(statuses)-1] != http.StatusTooManyRequests {
		t.Fatalf("wrong tokens from one address: %v, want 401s then 429", statuses)
	}
	// The right token from the throttled address is refused too: the
	// address is refused, whatever it sends.
	if status, _, _ := s.call(t, attacker, "GET", "/admin/clients", testAdminToken, ""); status != http.StatusTooManyRequests {
		t.Errorf("the throttled address with the right token: %d, want 429", status)
	}
	if status, _, _ := s.call(t, owner, "GET", "/admin/clients", testAdminToken, ""); status != http.StatusOK {
		t.Errorf("the admin from another address: %d, want 200", status)
	}
}

func TestAdmin_StoreUserSignsIn(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startAdmin(t, kind)
			const pw1, pw2 = "first-password-of-bob", "second-password-of-bob"
			status, body, _ := s.call(t, nil, "POST", "/admin/users", testAdminToken,
				`{"username":"bob","password":"`+pw1+`","claims":{"name":"Bob","email":"bob@example.com"}}`)
			if status != http.StatusCreated || body["password"] != nil || body["password_hash"] != nil {
				t.Fatalf("create: %d %v", status, body)
			}
			pc := oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
			grant := func(pw string) error {
				_, err := pc.PasswordCredentialsToken(context.Background(), "bob", pw)
				return err
			}
			if err := grant(pw1); err != nil {
				t.Fatalf("password grant of a store user: %v", err)
			}
			_, wrongErr := pc.PasswordCredentialsToken(context.Background(), "bob", "not-the-password")
			status, _, _ = s.call(t, nil, "PUT", "/admin/users/bob", testAdminToken, `{"disabled":true,"claims":{"name":"Bob"}}`)
			if status != 200 {
				t.Fatalf("disable: %d", status)
			}
			err := grant(pw1)
			if err == nil {
				t.Fatal("a disabled user got a token")
			}
			if errorCode(err) != errorCode(wrongErr) {
				t.Errorf("disabled user: %v; wrong password: %v; want the same answer", err, wrongErr)
			}
			status, body, _ = s.call(t, nil, "PUT", "/admin/users/bob", testAdminToken, `{"password":"`+pw2+`"}`)
			if status != 200 || body["disabled"] != false {
				t.Fatalf("set password and enable: %d %v", status, body)
			}
			if err := grant(pw1); err == nil {
				t.Error("the old password still works")
			}
			if err := grant(pw2); err != nil {
				t.Errorf("the new password: %v", err)
			}
			status, body, _ = s.call(t, nil, "GET", "/admin/users/bob", testAdminToken, "")
			if status != 200 || body["password_hash"] != nil || body["disabled"] != false {
				t.Errorf("get: %d %v", status, body)
			}
			logs := s.Logs.String()
			for _, secretText := range []string{pw1, pw2, testAdminToken} {
				if strings.Contains(logs, secretText) {
					t.Error("a password is in the logs")
				}
			}
			if !strings.Contains(logs, "action=user.update+passwd+enable target=bob") {
				t.Errorf("no audit line of the password change:\n%s", logs)
			}
		})
	}
}

// errorCode returns the OAuth error code of a token request's error.
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if stderrors.As(err, &re) {
		return re.ErrorCode
	}
	return err.Error()
}

func TestAdmin_KeyRotation(t *testing.T) {
	s := startAdmin(t, "memory")
	status, body, _ := s.call(t, nil, "POST", "/admin/keys/rotate", testAdminToken, `{"delay":"0s"}`)
	if status != 200 || body["kid"] == "" || body["replaces"] == nil {
		t.Fatalf("rotate: %d %v", status, body)
	}
	if !strings.Contains(s.Logs.String(), "action=keys.rotate") {
		t.Error("no audit line of the rotation")
	}
}

func TestAdmin_RoutesAreTheOpenAPIPaths(t *testing.T) {
	s := startAdmin(t, "memory")
	data, err := os.ReadFile("../../docs/admin-openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := slices.Clone(s.App.admin.routes)
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("docs/admin-openapi.yaml describes\n%q\nthe admin mux serves\n%q", documented, served)
	}
}

func TestAdmin_NoDocumentStoreIs501(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.TokenStore = newKVOnlyStore(t)
	cfg.Secret = testAtRestSecret
	cfg.AdminListen = "127.0.0.1:0"
	cfg.AdminToken = testAdminToken
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	req := httptest.NewRequest("POST", "/admin/users", bytes.NewReader([]byte(`{"username":"x","password":"pw-pw-pw-pw"}`)))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	rec := httptest.NewRecorder()
	app.AdminHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotImplemented || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("%d %s, want a 501 problem", rec.Code, rec.Body)
	}
}

func TestAdmin_ConfigRefusesAnUnsafeListener(t *testing.T) {
	tests := []struct {
		name  string
		set   func(c *Config)
		field string
	}{
		{"non-loopback without mTLS or opt-in", func(c *Config) { c.AdminListen = "0.0.0.0:9097" }, "admin_listen"},
		{"every interface", func(c *Config) { c.AdminListen = ":9097" }, "admin_listen"},
		{"short token", func(c *Config) { c.AdminToken = "short" }, EnvAdminToken},
		{"no credentials", func(c *Config) { c.AdminToken = "" }, "admin_token_file"},
		{"client CA without TLS", func(c *Config) { c.AdminClientCAFile = "ca.pem" }, "admin_client_ca_file"},
		{"admin settings without admin_listen", func(c *Config) { c.AdminListen = ""; c.AdminAllowRemote = true }, "admin_listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(testRedirect)
			cfg.AdminListen = "127.0.0.1:9097"
			cfg.AdminToken = testAdminToken
			tt.set(&cfg)
			if fields := configFields(cfg.Validate()); !slices.Contains(fields, tt.field) {
				t.Errorf("Validate: fields %q, want %s", fields, tt.field)
			}
		})
	}
	cfg := testConfig(testRedirect)
	cfg.AdminListen, cfg.AdminToken, cfg.AdminAllowRemote = "0.0.0.0:9097", testAdminToken, true
	if err := cfg.Validate(); err != nil {
		t.Errorf("admin_allow_remote: %v", err)
	}
}

func TestAdmin_ClientInFileAndStoreIsAStartUpError(t *testing.T) {
	cfg := testConfig(testRedirect)
	ts := newMemoryTokenStore(t)
	body := `{"client_id":"` + testClientID + `","grant_types":["client_credentials"],"token_endpoint_auth_method":"none","source":"admin"}`
	if err := ts.CreateDocument(context.Background(), docClient, testClientID, []byte(body)); err != nil {
		t.Fatal(err)
	}
	cfg.TokenStore = ts
	cfg.Secret = testAtRestSecret
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "both in the configuration file and in the store") {
		t.Errorf("New = %v, want the duplicate refused", err)
	}
}

// kvOnlyStore is a token store with a KVStore and no DocumentStore.
type kvOnlyStore struct {
	root.TokenStore
	root.KVStore
}

func newKVOnlyStore(t *testing.T) kvOnlyStore {
	t.Helper()
	ts := newMemoryTokenStore(t)
	return kvOnlyStore{TokenStore: ts, KVStore: ts.(root.KVStore)}
}

// newMemoryTokenStore returns a memory store, which keeps documents.
func newMemoryTokenStore(t *testing.T) interface {
	root.TokenStore
	root.DocumentStore
} {
	t.Helper()
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	return ts.(interface {
		root.TokenStore
		root.DocumentStore
	})
}

func TestCLI_ClientsAndUsersThroughTheAdminAPI(t *testing.T) {
	s := startAdmin(t, "memory")
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
			LookupEnv: func(k string) (string, bool) {
				switch k {
				case EnvAdminToken:
					return testAdminToken, true
				case EnvAdminURL:
					return s.AdminURL, true
				}
				return "", false
			}}
		code := Main(env)
		return code, out.String(), errOut.String()
	}
	const secret = "cli-client-secret-0123456789"
	code, out, errOut := run(secret+"\n", "clients", "create", "-id", "cli-svc", "-grant", "client_credentials", "-scope", "read", "-secret-stdin", "-o", "json")
	if code != 0 {
		t.Fatalf("clients create: %d %s", code, errOut)
	}
	var created clientView
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ClientID != "cli-svc" {
		t.Fatalf("clients create -o json: %v %s", err, out)
	}
	if _, err := clientCredentialsToken(t, s.testServer, "cli-svc", secret); err != nil {
		t.Fatalf("the client created by the CLI: %v", err)
	}
	if code, out, _ := run("", "clients", "list"); code != 0 || !strings.Contains(out, "cli-svc") || !strings.Contains(out, testClientID) {
		t.Errorf("clients list: %d\n%s", code, out)
	}
	if code, _, errOut := run("", "clients", "create", "-id", "bad", "-redirect-uri", "https://a.example/#f"); code != 1 || !strings.Contains(errOut, "redirect_uris[0]") {
		t.Errorf("clients create with a fragment: %d %s", code, errOut)
	}
	if code, _, errOut := run("pw-of-dora-0001\n", "users", "create", "dora"); code != 0 {
		t.Fatalf("users create: %d %s", code, errOut)
	}
	if code, _, errOut := run("pw-of-dora-0002\n", "users", "passwd", "dora"); code != 0 {
		t.Fatalf("users passwd: %d %s", code, errOut)
	}
	if code, out, errOut := run("", "users", "disable", "-o", "json", "dora"); code != 0 || !strings.Contains(out, `"disabled": true`) {
		t.Fatalf("users disable: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run("", "users", "list"); code != 0 || !strings.Contains(out, "dora") {
		t.Errorf("users list: %d\n%s", code, out)
	}
	if code, _, _ := run("", "clients", "delete", "cli-svc"); code != 0 {
		t.Errorf("clients delete: %d", code)
	}
	if _, err := clientCredentialsToken(t, s.testServer, "cli-svc", secret); err == nil {
		t.Error("the deleted client got a token")
	}
	if strings.Contains(s.Logs.String(), secret) || strings.Contains(s.Logs.String(), "pw-of-dora") {
		t.Error("a secret is in the logs")
	}
}

// TestAdmin_DeletedClientsTokensAreInactiveAtOnce: deleting a client ends
// its opaque access tokens at once: a resource server introspecting one
// (RFC 7662 2.2) is told it is not active; and its client_id is not given
// to a new client, which would bring them back.
func TestAdmin_DeletedClientsTokensAreInactiveAtOnce(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startAdmin(t, kind)
			secrets := map[string]string{}
			for _, doc := range []string{
				`{"client_id":"svc","grant_types":["client_credentials"],"scope":"read"}`,
				`{"client_id":"rs","grant_types":["client_credentials"],"scope":"read","introspect_any":true}`,
			} {
				status, body, _ := s.call(t, nil, "POST", "/admin/clients", testAdminToken, doc)
				if status != http.StatusCreated {
					t.Fatalf("create %s: %d %v", doc, status, body)
				}
				secrets[body["client_id"].(string)] = body["client_secret"].(string)
			}
			tok, err := clientCredentialsToken(t, s.testServer, "svc", secrets["svc"])
			if err != nil {
				t.Fatal(err)
			}
			introspect := func() bool {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/introspect", strings.NewReader("token="+tok.AccessToken))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("rs", secrets["rs"])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m struct {
					Active   bool   `json:"active"`
					ClientID string `json:"client_id"`
				}
				if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&m) != nil {
					t.Fatalf("introspection: %d", resp.StatusCode)
				}
				return m.Active && m.ClientID == "svc"
			}
			if !introspect() {
				t.Fatal("the token of a registered client is not active")
			}
			if status, _, _ := s.call(t, nil, "DELETE", "/admin/clients/svc", testAdminToken, ""); status != http.StatusNoContent {
				t.Fatalf("delete: %d", status)
			}
			if introspect() {
				t.Fatal("the token of a deleted client is still active")
			}
			// Its client_id is never given again: a new client of that ID
			// would inherit the deleted one's tokens and consents.
			before := s.snapshot(t)
			status, body, _ := s.call(t, nil, "POST", "/admin/clients", testAdminToken,
				`{"client_id":"svc","grant_types":["client_credentials"],"scope":"read"}`)
			if status != http.StatusConflict {
				t.Fatalf("re-create of a deleted client_id: %d %v, want 409", status, body)
			}
			if after := s.snapshot(t); len(after) != len(before) {
				t.Fatal("the refused re-create changed the store")
			}
			if introspect() {
				t.Fatal("the deleted client's token came back")
			}
		})
	}
}

// TestAdmin_DeviceGrantForStoreClientsNeedsGrantsDevice: a client kept in
// the store may list the device authorization grant (RFC 8628) only when
// the server serves it; grants.device serves it without a client of the
// file listing it, and the store client then starts a device flow.
func TestAdmin_DeviceGrantForStoreClientsNeedsGrantsDevice(t *testing.T) {
	const doc = `{"client_id":"tv","grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"scope":"read","token_endpoint_auth_method":"none"}`
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("grants.device=%v", on), func(t *testing.T) {
			s := startAdmin(t, "memory", func(c *Config) { c.Grants.Device = on })
			status, body, _ := s.call(t, nil, "POST", "/admin/clients", testAdminToken, doc)
			resp, err := http.PostForm(s.URL+"/device_authorization", url.Values{"client_id": {"tv"}, "scope": {"read"}})
			if err != nil {
				t.Fatal(err)
			}
			var da struct {
				DeviceCode string `json:"device_code"`
				UserCode   string `json:"user_code"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&da)
			resp.Body.Close()
			if !on {
				if status != http.StatusBadRequest {
					t.Fatalf("create without grants.device: %d %v, want 400", status, body)
				}
				if resp.StatusCode == http.StatusOK || da.DeviceCode != "" {
					t.Fatalf("device authorization without grants.device: %d, code %q", resp.StatusCode, da.DeviceCode)
				}
				if _, ok := s.snapshot(t)[docClient+"/tv"]; ok {
					t.Fatal("the refused client was stored")
				}
				return
			}
			if status != http.StatusCreated {
				t.Fatalf("create with grants.device: %d %v", status, body)
			}
			if resp.StatusCode != http.StatusOK || da.DeviceCode == "" || da.UserCode == "" {
				t.Fatalf("device authorization of the store client: %d %+v", resp.StatusCode, da)
			}
		})
	}
}

// TestRegistry_ClientRefusedByTheConfigurationIsLoggedOnce: a client
// document this configuration does not accept (written when a grant was
// still on: here the device grant, without grants.device) is refused like an unknown client, and however often strangers
// send its client_id it costs one store read and one log line per cache.
func TestRegistry_ClientRefusedByTheConfigurationIsLoggedOnce(t *testing.T) {
	s := startAdmin(t, "memory")
	hash, err := secret.Hash("refused-client-secret-0123")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(clientDoc{ClientSecretHash: hash, Source: sourceAdmin, clientMetadata: clientMetadata{
		ClientID: "old", GrantTypes: []string{"client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
		Scope: "read", TokenEndpointAuthMethod: "client_secret_basic"}})
	if err := s.Docs.CreateDocument(context.Background(), docClient, "old", doc); err != nil {
		t.Fatal(err)
	}
	s.App.clients.invalidate()
	for range 5 {
		if _, err := clientCredentialsToken(t, s.testServer, "old", "refused-client-secret-0123"); err == nil {
			t.Fatal("a client refused by the configuration got a token")
		}
	}
	if n := strings.Count(s.Logs.String(), "is not valid with this configuration"); n != 1 {
		t.Fatalf("the refused client was logged %d times, want once:\n%s", n, s.Logs.String())
	}
}

// TestAdmin_EveryRequestIsAuthenticatedBeforeRouting: without the token,
// a wrong method, an unknown path or a path the mux would redirect all get
// the same 401: a stranger learns nothing of the routes.
func TestAdmin_EveryRequestIsAuthenticatedBeforeRouting(t *testing.T) {
	s := startAdmin(t, "memory")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, rq := range []struct{ method, path string }{
		{"PATCH", "/admin/clients"},
		{"GET", "/admin/nothing"},
		{"GET", "/admin//clients"},
		{"GET", "/admin/clients"},
	} {
		status, _, resp := s.call(t, noRedirect, rq.method, rq.path, "", "")
		if status != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s without a token: %d, want 401 with WWW-Authenticate", rq.method, rq.path, status)
		}
	}
	if status, body, _ := s.call(t, noRedirect, "PATCH", "/admin/clients", testAdminToken, ""); status != http.StatusNotFound || body["status"] != float64(http.StatusNotFound) {
		t.Errorf("PATCH with the token: %d %v, want a 404 problem", status, body)
	}
}
