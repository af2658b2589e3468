package main

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// startQuickstart runs the seed's setup on a random loopback port.
func startQuickstart(t *testing.T) (*httptest.Server, func(r *http.Request) (string, error)) {
	t.Helper()
	mux, srv := newServer()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	validate := func(r *http.Request) (string, error) {
		ti, err := srv.ValidationBearerToken(r)
		if err != nil {
			return "", err
		}
		return ti.GetClientID(), nil
	}
	return ts, validate
}

func getJSON(t *testing.T, rawURL string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d, body is not JSON: %q", resp.StatusCode, body)
	}
	return resp, m
}

func TestQuickstart_GetTokenAnswersAsTheSeedDocuments(t *testing.T) {
	ts, validate := startQuickstart(t)
	resp, body := getJSON(t, ts.URL+"/token?grant_type=client_credentials&client_id=000000&client_secret=999999&scope=read")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	keys := slices.Sorted(maps.Keys(body))
	if want := []string{"access_token", "expires_in", "scope", "token_type"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want exactly %v", keys, want)
	}
	if body["expires_in"] != float64(7200) || body["scope"] != "read" || body["token_type"] != "Bearer" {
		t.Fatalf("body %v", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store (RFC 6749 5.1)", cc)
	}

	access, _ := body["access_token"].(string)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	clientID, err := validate(req)
	if err != nil || clientID != "000000" {
		t.Fatalf("ValidationBearerToken = (%q, %v), want the token of client 000000", clientID, err)
	}
}

func TestQuickstart_RefusesBadRequests(t *testing.T) {
	ts, validate := startQuickstart(t)
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantError  string
	}{
		{"wrong secret is invalid_client (RFC 6749 5.2)",
			url.Values{"grant_type": {"client_credentials"}, "client_id": {"000000"}, "client_secret": {"999998"}, "scope": {"read"}},
			http.StatusUnauthorized, "invalid_client"},
		{"unknown client is invalid_client",
			url.Values{"grant_type": {"client_credentials"}, "client_id": {"000001"}, "client_secret": {"999999"}},
			http.StatusUnauthorized, "invalid_client"},
		{"unknown grant is unsupported_grant_type",
			url.Values{"grant_type": {"password"}, "client_id": {"000000"}, "client_secret": {"999999"}, "username": {"u"}, "password": {"p"}},
			http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := getJSON(t, ts.URL+"/token?"+tt.query.Encode())
			if resp.StatusCode != tt.wantStatus || body["error"] != tt.wantError {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
			if _, ok := body["access_token"]; ok {
				t.Fatal("an error response carries an access token")
			}
		})
	}

	t.Run("a made-up bearer token does not validate (RFC 6750 3.1)", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 43))
		if _, err := validate(req); err == nil {
			t.Fatal("ValidationBearerToken accepted a token that was never issued")
		}
	})

	t.Run("authorize with an unknown client is shown, not redirected (RFC 6749 4.1.2.1)", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(ts.URL + "/authorize?response_type=code&client_id=nope&redirect_uri=" + url.QueryEscape("http://evil.example/cb"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q: want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The seed's handler calls http.Error on a returned error; the
		// server has written the page already and returns nil, so it is
		// written once.
		if got, want := string(body), "invalid_request: The client_id is unknown\n"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	})
}
