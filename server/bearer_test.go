package server_test

import (
	stderrors "errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

func TestBearerAuth_Sources(t *testing.T) {
	tests := []struct {
		name      string
		fromForm  bool
		fromQuery bool
		build     func() *http.Request
		want      string
		wantOK    bool
	}{
		{"Authorization header", false, false, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, "abc", true},
		{"scheme is case-insensitive", false, false, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			r.Header.Set("Authorization", "bearer abc")
			return r
		}, "abc", true},
		{"Basic is not a bearer token", false, false, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			r.Header.Set("Authorization", "Basic YTpi")
			return r
		}, "", false},
		{"form body ignored by default (RFC 6750 2.2)", false, false, func() *http.Request {
			return formRequest("/api", "access_token=abc")
		}, "", false},
		{"form body when allowed", true, false, func() *http.Request {
			return formRequest("/api", "access_token=abc")
		}, "abc", true},
		{"form token on GET is ignored", true, false, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api", strings.NewReader("access_token=abc"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, "", false},
		{"form token without form content type is ignored", true, false, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api", strings.NewReader("access_token=abc"))
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, "", false},
		{"query ignored by default (RFC 6750 2.3)", false, false, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api?access_token=abc", nil)
		}, "", false},
		{"query when allowed", false, true, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api?access_token=abc", nil)
		}, "abc", true},
		{"header and query together are refused (RFC 6750 2)", false, true, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api?access_token=abc", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, "", false},
		{"repeated query token is refused", false, true, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api?access_token=a&access_token=b", nil)
		}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server.NewDefaultServer(nil)
			s.Config.AllowBearerFromForm = tt.fromForm
			s.Config.AllowBearerFromQuery = tt.fromQuery
			got, ok := s.BearerAuth(tt.build())
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("BearerAuth = (%q, %v), want (%q, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func formRequest(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestValidationBearerToken(t *testing.T) {
	e := newEnv(t)
	_, data := e.token(tokenReq{body: "grant_type=client_credentials&scope=read", basic: basic(confID, confSecret)}.build())
	access := data["access_token"].(string)

	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	ti, err := e.srv.ValidationBearerToken(r)
	if err != nil || ti.GetClientID() != confID || ti.GetScope() != "read" {
		t.Fatalf("ValidationBearerToken = %v, %v", ti, err)
	}
	for _, header := range []string{"", "Bearer nope", "Bearer " + access + "x", "Basic " + access} {
		r := httptest.NewRequest(http.MethodGet, "/api", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if _, err := e.srv.ValidationBearerToken(r); !stderrors.Is(err, errors.ErrInvalidToken) {
			t.Errorf("header %q: err %v, want invalid_token", header, err)
		}
	}
}
