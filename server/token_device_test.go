package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// poll is one poll of a device grant test: who polls, after how long, and
// the answer (RFC 8628 3.5).
type poll struct {
	wait   time.Duration
	client string // tvID when empty
	code   string // the issued device code when empty; "-" for none
	status int
	err    string // "" for a token
	before func(*deviceEnv, deviceAuth)
}

func TestDeviceToken_PollAnswers(t *testing.T) {
	ctx := context.Background()
	approve := func(scope string) func(*deviceEnv, deviceAuth) {
		return func(e *deviceEnv, da deviceAuth) {
			if err := e.srv.ApproveDeviceCode(ctx, da.UserCode, deviceUser, scope); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	deny := func(e *deviceEnv, da deviceAuth) {
		if err := e.srv.DenyDeviceCode(ctx, da.UserCode); err != nil {
			e.t.Fatal(err)
		}
	}
	const interval = server.DefaultDevicePollInterval
	tests := []struct {
		name   string
		setup  func(*deviceEnv, deviceAuth)
		polls  []poll
		scope  string // of the issued token
		grants []oauth2.GrantType
	}{
		{name: "pending", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: interval, status: 400, err: "authorization_pending"},
		}},
		{name: "polling faster than the interval is slow_down", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: time.Second, status: 400, err: "slow_down"},
		}},
		{name: "slow_down adds five seconds to the interval", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: time.Second, status: 400, err: "slow_down"},
			// The interval is now 10s, counted from the slow_down.
			{wait: 10 * time.Second, status: 400, err: "authorization_pending"},
			{wait: 5 * time.Second, status: 400, err: "slow_down"},
			// Every slow_down adds five seconds more: 15s.
			{wait: 15 * time.Second, status: 400, err: "authorization_pending"},
			{wait: 15 * time.Second, status: 400, err: "authorization_pending"},
			{wait: 10 * time.Second, status: 400, err: "slow_down"},
		}},
		{name: "a poll a little early is tolerated", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: interval - 500*time.Millisecond, status: 400, err: "authorization_pending"},
		}},
		{name: "expired", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: 10 * time.Minute, status: 400, err: "expired_token"},
			{wait: interval, status: 400, err: "expired_token"},
		}},
		{name: "first poll after expiry", setup: func(e *deviceEnv, da deviceAuth) {
			e.clock.Advance(10 * time.Minute)
		}, polls: []poll{{status: 400, err: "expired_token"}}},
		{name: "denied", setup: deny, polls: []poll{
			{status: 400, err: "access_denied"},
			{wait: interval, status: 400, err: "access_denied"},
		}},
		{name: "approved issues the tokens once", setup: approve(""), scope: "read write", polls: []poll{
			{status: 200},
			{wait: interval, status: 400, err: "invalid_grant"},
		}},
		{name: "approved with a narrower scope", setup: approve("read"), scope: "read", polls: []poll{{status: 200}}},
		{name: "approved while the client polls", scope: "read write", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: interval, status: 400, err: "authorization_pending"},
			{wait: interval, before: approve(""), status: 200},
			{wait: interval, status: 400, err: "invalid_grant"},
		}},
		{name: "denied while the client polls", polls: []poll{
			{status: 400, err: "authorization_pending"},
			{wait: interval, before: deny, status: 400, err: "access_denied"},
		}},
		{name: "another client's device code", setup: approve(""), polls: []poll{
			{client: tvConfID, status: 400, err: "invalid_grant"},
			{status: 200},
		}, scope: "read write"},
		{name: "unknown device code", polls: []poll{{code: "not-a-device-code", status: 400, err: "invalid_grant"}}},
		{name: "no device code", polls: []poll{{code: "-", status: 400, err: "invalid_request"}}},
		{name: "client not registered for the device grant", polls: []poll{{client: limitedID, status: 400, err: "unauthorized_client"}}},
		{name: "grant not enabled", grants: []oauth2.GrantType{oauth2.AuthorizationCode},
			polls: []poll{{status: 400, err: "unsupported_grant_type"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			da := e.authorizeDevice("read write")
			if tt.setup != nil {
				tt.setup(e, da)
			}
			if tt.grants != nil {
				e.srv.SetAllowedGrantType(tt.grants...)
			}
			for i, p := range tt.polls {
				e.clock.Advance(p.wait)
				if p.before != nil {
					p.before(e, da)
				}
				client, code := p.client, p.code
				if client == "" {
					client = tvID
				}
				switch code {
				case "":
					code = da.DeviceCode
				case "-":
					code = ""
				}
				before := e.issued()
				w, data := e.poll(client, code)
				checkTokenHeaders(t, w)
				if w.Code != p.status || (p.err != "" && data["error"] != p.err) {
					t.Fatalf("poll %d: got %d %v, want %d %s", i+1, w.Code, data, p.status, p.err)
				}
				if p.err != "" {
					if e.issued() != before {
						t.Fatalf("poll %d: a token was issued with %s", i+1, p.err)
					}
					continue
				}
				if data["access_token"] == nil || data["refresh_token"] == nil || data["scope"] != tt.scope {
					t.Fatalf("poll %d: token response %v, want access and refresh tokens with scope %q", i+1, data, tt.scope)
				}
				ti, err := e.mgr.LoadAccessToken(ctx, data["access_token"].(string))
				if err != nil || ti.GetUserID() != deviceUser || ti.GetClientID() != tvID || ti.GetGrantID() == "" {
					t.Fatalf("poll %d: issued token record %v, %v", i+1, ti, err)
				}
			}
		})
	}
}

func TestDeviceToken_ApprovalOnAnotherServerProcess(t *testing.T) {
	e := newDeviceEnv(t)
	da := e.authorizeDevice("read")
	if w, data := e.poll(tvID, da.DeviceCode); data["error"] != "authorization_pending" {
		t.Fatalf("%d %v", w.Code, data)
	}
	// The verification page runs in another process over the same store.
	page := server.NewServer(&server.Config{Issuer: issuer}, e.mgr)
	page.SetKVStore(e.kv)
	page.SetClock(e.clock.Now)
	if _, err := page.LookupUserCode(context.Background(), da.UserCode, "session"); err != nil {
		t.Fatal(err)
	}
	if err := page.ApproveDeviceCode(context.Background(), da.UserCode, deviceUser, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(server.DefaultDevicePollInterval)
	if w, data := e.poll(tvID, da.DeviceCode); w.Code != 200 {
		t.Fatalf("%d %v", w.Code, data)
	}
}

func TestDeviceToken_ConcurrentPollsIssueOnce(t *testing.T) {
	e := newDeviceEnv(t)
	da := e.authorizeDevice("")
	if err := e.srv.ApproveDeviceCode(context.Background(), da.UserCode, deviceUser, ""); err != nil {
		t.Fatal(err)
	}
	// Several server processes sharing the store, polled at once.
	servers := []*server.Server{e.srv}
	for range 3 {
		s := server.NewServer(e.srv.Config, e.mgr)
		s.SetKVStore(e.kv)
		s.SetClock(e.clock.Now)
		servers = append(servers, s)
	}
	const n = 16
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			r := tokenReq{body: "grant_type=" + string(oauth2.DeviceCode) + "&client_id=" + tvID + "&device_code=" + da.DeviceCode}.build()
			_ = servers[i%len(servers)].HandleTokenRequest(w, r)
			codes <- w.Code
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	if ok != 1 || e.issued() != 1 {
		t.Fatalf("%d polls succeeded and %d tokens were issued, want exactly one", ok, e.issued())
	}
}

func TestDeviceToken_StoreDownKeepsTheApproval(t *testing.T) {
	e := newDeviceEnv(t)
	da := e.authorizeDevice("")
	if err := e.srv.ApproveDeviceCode(context.Background(), da.UserCode, deviceUser, ""); err != nil {
		t.Fatal(err)
	}
	down := oauth2.ErrUnavailable
	e.tokens.fail.Store(&down)
	if w, data := e.poll(tvID, da.DeviceCode); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("token store down: %d %v", w.Code, data)
	}
	e.tokens.fail.Store(nil)
	e.clock.Advance(server.DefaultDevicePollInterval)
	if w, data := e.poll(tvID, da.DeviceCode); w.Code != http.StatusOK {
		t.Fatalf("after the outage: %d %v, want the tokens", w.Code, data)
	}
	e.srv.SetKVStore(downKV{})
	e.clock.Advance(server.DefaultDevicePollInterval)
	if w, data := e.poll(tvID, da.DeviceCode); w.Code != http.StatusServiceUnavailable || data["error"] != "temporarily_unavailable" {
		t.Fatalf("KVStore down: %d %v", w.Code, data)
	}
}
