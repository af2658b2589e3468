package server_test

import (
	"context"
	stderrors "errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// serveDevice runs the device authorization and token endpoints of e on an
// httptest.Server, as an application mounts them, counting the polls.
func (e *deviceEnv) serveDevice(t *testing.T, polls *atomic.Int64) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/device_authorization", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleDeviceAuthorizationRequest(w, r); err != nil {
			t.Errorf("HandleDeviceAuthorizationRequest: %v", err)
		}
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleTokenRequest(w, r); err != nil {
			t.Errorf("HandleTokenRequest: %v", err)
		}
		polls.Add(1)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// TestDeviceFlow_XOAuth2Client runs the device authorization grant with
// golang.org/x/oauth2's client (Config.DeviceAuth, Config.DeviceAccessToken)
// against the library's endpoints: the user approves (or denies) through
// the user-side API while the client polls at the server's interval.
func TestDeviceFlow_XOAuth2Client(t *testing.T) {
	tests := []struct {
		name string
		// answer is what the user does once the client has polled once;
		// nil leaves the request unanswered.
		answer   func(e *deviceEnv, userCode string) error
		lifetime time.Duration
		// keepPolling makes the client ignore expires_in, as a client whose
		// clock is behind would, to reach the server's expired_token.
		keepPolling bool
		wantErr     string
	}{
		{name: "approved", answer: func(e *deviceEnv, uc string) error {
			ctx := context.Background()
			req, err := e.srv.LookupUserCode(ctx, uc, "browser-session")
			if err != nil {
				return err
			}
			return e.srv.ApproveDeviceCode(ctx, req.UserCode, deviceUser, "read")
		}},
		{name: "denied", answer: func(e *deviceEnv, uc string) error {
			return e.srv.DenyDeviceCode(context.Background(), uc)
		}, wantErr: "access_denied"},
		{name: "expired", lifetime: time.Second, keepPolling: true, wantErr: "expired_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRealTimeDeviceEnv(t)
			e.srv.Config.Device.PollInterval = time.Second
			e.srv.Config.Device.CodeLifetime = tt.lifetime
			var polls atomic.Int64
			ts := e.serveDevice(t, &polls)
			cfg := &oauth2.Config{
				ClientID: tvID,
				Scopes:   []string{"read", "write"},
				Endpoint: oauth2.Endpoint{
					DeviceAuthURL: ts.URL + "/device_authorization",
					TokenURL:      ts.URL + "/token",
					AuthStyle:     oauth2.AuthStyleInParams,
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.Interval != 1 || da.VerificationURIComplete == "" || !userCodeShape.MatchString(da.UserCode) {
				t.Fatalf("device authorization response %+v", da)
			}
			if tt.keepPolling {
				da.Expiry = time.Time{}
			}
			answered := make(chan error, 1)
			if tt.answer != nil {
				go func() {
					for polls.Load() == 0 {
						select {
						case <-ctx.Done():
							answered <- ctx.Err()
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
					answered <- tt.answer(e, da.UserCode)
				}()
			}
			tok, err := cfg.DeviceAccessToken(ctx, da)
			if tt.answer != nil {
				if aerr := <-answered; aerr != nil {
					t.Fatalf("user answer: %v", aerr)
				}
			}
			if tt.wantErr != "" {
				var re *oauth2.RetrieveError
				if !stderrors.As(err, &re) || re.ErrorCode != tt.wantErr {
					t.Fatalf("DeviceAccessToken: %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			if polls.Load() < 2 {
				t.Fatalf("the client polled %d times; the approval came after the first poll", polls.Load())
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("scope") != "read" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			ti, err := e.mgr.LoadAccessToken(ctx, tok.AccessToken)
			if err != nil || ti.GetUserID() != deviceUser || ti.GetClientID() != tvID {
				t.Fatalf("issued token: %v %v", ti, err)
			}
			// The refresh token works with the same client library.
			src := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
			fresh, err := src.Token()
			if err != nil || fresh.AccessToken == tok.AccessToken {
				t.Fatalf("refresh: %v", err)
			}
		})
	}
}
