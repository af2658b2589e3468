package oauth2d

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// adminAPIServer serves the admin API of srv's App.
func adminAPIServer(t *testing.T, srv *testServer) *httptest.Server {
	t.Helper()
	h := srv.App.AdminHandler()
	if h == nil {
		t.Fatal("no admin API")
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// adminCall sends an admin request with the token and decodes the JSON
// answer into out (when not nil).
func adminCall(t *testing.T, api *httptest.Server, method, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, api.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %d not JSON: %q", method, path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode
}

// adminAccountConfig is accountConfig with the admin API on, on the
// store kind ("memory" or "sqlite").
func adminAccountConfig(t *testing.T, kind string) Config {
	cfg := accountConfig()
	if kind == "sqlite" {
		cfg.Store = "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db")
		cfg.Secret = testAtRestSecret
	}
	cfg.AdminListen = "127.0.0.1:0"
	cfg.AdminToken = testAdminToken
	return cfg
}

func TestAdminGrants_ListAndRevokeKillsTheTokensAtOnce(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) { testAdminGrantsListAndRevoke(t, kind) })
	}
}

func testAdminGrantsListAndRevoke(t *testing.T, kind string) {
	srv := startApp(t, adminAccountConfig(t, kind))
	api := adminAPIServer(t, srv)
	b := newBrowser(t, srv)
	access, refresh := grantTokens(t, srv, b, testClientID, testClientSecret, testUsername, testPassword)
	otherAccess, _ := grantTokens(t, srv, b, otherClientID, otherClientSecret, testUsername, testPassword)

	var list grantsPage
	if st := adminCall(t, api, "GET", "/admin/grants?username="+testUsername, &list); st != http.StatusOK {
		t.Fatalf("list: %d", st)
	}
	if len(list.Consents) != 2 || len(list.Items) != 2 || list.Next != "" || list.Username != testUsername {
		t.Fatalf("list: %+v", list)
	}
	var target grantView
	for _, g := range list.Items {
		if g.ClientID == testClientID {
			target = g
		}
		if g.Scope != "read" || g.ExpiresAt == nil || g.IssuedAt.IsZero() || g.Username != testUsername {
			t.Fatalf("grant %+v", g)
		}
	}
	// Pages of one.
	var p1, p2 grantsPage
	adminCall(t, api, "GET", "/admin/grants?limit=1&username="+testUsername, &p1)
	adminCall(t, api, "GET", "/admin/grants?limit=1&username="+testUsername+"&after="+url.QueryEscape(p1.Next), &p2)
	if len(p1.Items) != 1 || p1.Next == "" || len(p2.Items) != 1 || p2.Next != "" || p1.Items[0].GrantID == p2.Items[0].GrantID {
		t.Fatalf("pages: %+v then %+v", p1, p2)
	}

	if st := adminCall(t, api, "DELETE", "/admin/grants/"+url.PathEscape(target.GrantID), nil); st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	if introspectActive(t, srv, testClientID, testClientSecret, access) {
		t.Fatal("the revoked grant's access token is active")
	}
	if ok, _ := refreshWorks(t, srv, testClientID, testClientSecret, refresh); ok {
		t.Fatal("the revoked grant's refresh token works")
	}
	if !introspectActive(t, srv, otherClientID, otherClientSecret, otherAccess) {
		t.Fatal("another grant was revoked")
	}
	if st := adminCall(t, api, "DELETE", "/admin/grants/"+url.PathEscape(target.GrantID), nil); st != http.StatusNotFound {
		t.Fatalf("revoked twice: %d", st)
	}
	adminCall(t, api, "GET", "/admin/grants?username="+testUsername, &list)
	if len(list.Items) != 1 || list.Items[0].ClientID != otherClientID {
		t.Fatalf("after revoking: %+v", list.Items)
	}
	logs := srv.Logs.String()
	if !strings.Contains(logs, "msg=audit actor=admin-token action=grant.revoke target="+target.GrantID+" client_id="+testClientID+" username="+testUsername) {
		t.Fatalf("no audit line for the revocation:\n%s", logs)
	}
	if strings.Contains(logs, access) || strings.Contains(logs, refresh) {
		t.Fatal("a token is in the logs")
	}
}

func TestAdminGrants_BadRequestsChangeNothing(t *testing.T) {
	srv := startApp(t, adminAccountConfig(t, "memory"))
	api := adminAPIServer(t, srv)
	access, _ := grantTokens(t, srv, newBrowser(t, srv), testClientID, testClientSecret, testUsername, testPassword)
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"list without a username", "GET", "/admin/grants", http.StatusBadRequest},
		{"list of an unknown user", "GET", "/admin/grants?username=nobody", http.StatusNotFound},
		{"list with a bad limit", "GET", "/admin/grants?username=alice&limit=0", http.StatusBadRequest},
		{"revoke an unknown grant", "DELETE", "/admin/grants/no-such-grant", http.StatusNotFound},
		{"revoke a grant ID no document can have", "DELETE", "/admin/grants/" + strings.Repeat("g", 300), http.StatusNotFound},
		{"revoke without an ID", "DELETE", "/admin/grants/", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prob map[string]any
			if st := adminCall(t, api, tt.method, tt.path, &prob); st != tt.status || prob["title"] == nil {
				t.Fatalf("status %d %v, want %d with a problem", st, prob, tt.status)
			}
			if !introspectActive(t, srv, testClientID, testClientSecret, access) {
				t.Fatal("a bad request revoked the token")
			}
		})
	}
	// Without the token: 401, nothing revoked.
	var list grantsPage
	adminCall(t, api, "GET", "/admin/grants?username="+testUsername, &list)
	req, _ := http.NewRequest("DELETE", api.URL+"/admin/grants/"+url.PathEscape(list.Items[0].GrantID), nil)
	resp, err := api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !introspectActive(t, srv, testClientID, testClientSecret, access) {
		t.Fatalf("revoke without the token: %d", resp.StatusCode)
	}
}

func TestCLI_GrantsListAndRevokeThroughTheAdminAPI(t *testing.T) {
	srv := startApp(t, adminAccountConfig(t, "memory"))
	api := adminAPIServer(t, srv)
	access, refresh := grantTokens(t, srv, newBrowser(t, srv), testClientID, testClientSecret, testUsername, testPassword)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			LookupEnv: func(k string) (string, bool) {
				switch k {
				case EnvAdminToken:
					return testAdminToken, true
				case EnvAdminURL:
					return api.URL, true
				}
				return "", false
			}}
		code := Main(env)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("grants", "list", "-username", testUsername, "-o", "json")
	var list grantsPage
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || len(list.Consents) != 1 || list.Items[0].ClientID != testClientID {
		t.Fatalf("grants list -o json: %d %s %s", code, out, errOut)
	}
	id := list.Items[0].GrantID
	if code, out, _ := run("grants", "list", "-username", testUsername); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "GRANT_ID") {
		t.Fatalf("grants list: %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"grants", "list"},
		{"grants", "list", "-username", testUsername, "extra"},
		{"grants", "revoke"},
		{"grants", "revoke", "a", "b"},
		{"grants", "forget", id},
	} {
		if code, _, _ := run(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errOut := run("grants", "list", "-username", "nobody"); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("grants list of an unknown user: %d %s", code, errOut)
	}
	if !introspectActive(t, srv, testClientID, testClientSecret, access) {
		t.Fatal("a refused command revoked the token")
	}
	if code, out, errOut := run("grants", "revoke", "-o", "json", id); code != 0 || !strings.Contains(out, `"revoked": true`) {
		t.Fatalf("grants revoke: %d %s %s", code, out, errOut)
	}
	if introspectActive(t, srv, testClientID, testClientSecret, access) {
		t.Fatal("the access token is active after grants revoke")
	}
	if ok, _ := refreshWorks(t, srv, testClientID, testClientSecret, refresh); ok {
		t.Fatal("the refresh token works after grants revoke")
	}
	if code, _, errOut := run("grants", "revoke", id); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("grants revoke twice: %d %s", code, errOut)
	}
}
