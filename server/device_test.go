package server_test

import (
	"context"
	stderrors "errors"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceAuthorization_Answer(t *testing.T) {
	e := newDeviceEnv(t)
	w, data := e.deviceRequest(tokenReq{body: "client_id=" + tvID + "&scope=read"}.build())
	checkTokenHeaders(t, w)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %v", w.Code, data)
	}
	dc, _ := data["device_code"].(string)
	uc, _ := data["user_code"].(string)
	if len(dc) != 43 || strings.ContainsAny(dc, "+/=") {
		t.Errorf("device_code %q is not 256 bits of base64url", dc)
	}
	if !userCodeShape.MatchString(uc) {
		t.Errorf("user_code %q is not XXXX-XXXX of the RFC 8628 6.1 alphabet", uc)
	}
	if got := data["verification_uri"]; got != issuer+"/device" {
		t.Errorf("verification_uri %v", got)
	}
	if got := data["verification_uri_complete"]; got != issuer+"/device?user_code="+uc {
		t.Errorf("verification_uri_complete %v", got)
	}
	if data["expires_in"] != float64(600) || data["interval"] != float64(5) {
		t.Errorf("expires_in %v interval %v, want 600 and 5", data["expires_in"], data["interval"])
	}
}

func TestDeviceAuthorization_CodesAreFreshEachTime(t *testing.T) {
	e := newDeviceEnv(t)
	seen := map[string]bool{}
	for range 50 {
		da := e.authorizeDevice("")
		if seen[da.DeviceCode] || seen[da.UserCode] {
			t.Fatal("a code was issued twice")
		}
		seen[da.DeviceCode], seen[da.UserCode] = true, true
	}
}

func TestDeviceAuthorization_Refusals(t *testing.T) {
	tests := []struct {
		name   string
		req    tokenReq
		setup  func(*deviceEnv)
		status int
		code   string
	}{
		{name: "GET is 405", req: tokenReq{method: http.MethodGet, query: "client_id=" + tvID}, status: 405, code: "invalid_request"},
		{name: "grant not enabled", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) {
				e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing)
			}, status: 400, code: "unsupported_grant_type"},
		{name: "no client", req: tokenReq{body: "scope=read"}, status: 401, code: "invalid_client"},
		{name: "unknown client", req: tokenReq{body: "client_id=nobody"}, status: 401, code: "invalid_client"},
		{name: "confidential client without its secret", req: tokenReq{body: "client_id=" + tvConfID}, status: 401, code: "invalid_client"},
		{name: "confidential client with a wrong secret", req: tokenReq{body: "client_id=" + tvConfID, basic: basic(tvConfID, "wrong")}, status: 401, code: "invalid_client"},
		{name: "client not registered for the device grant", req: tokenReq{basic: basic(limitedID, confSecret), body: "scope=read"}, status: 400, code: "unauthorized_client"},
		{name: "ClientAuthorizedHandler refuses", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) {
				e.srv.SetClientAuthorizedHandler(func(string, oauth2.GrantType) (bool, error) { return false, nil })
			}, status: 400, code: "unauthorized_client"},
		{name: "scope outside the registration", req: tokenReq{body: "client_id=" + tvID + "&scope=read+admin"}, status: 400, code: "invalid_scope"},
		{name: "ClientScopeHandler refuses", req: tokenReq{body: "client_id=" + tvID + "&scope=read"},
			setup: func(e *deviceEnv) {
				e.srv.SetClientScopeHandler(func(tgr *oauth2.TokenGenerateRequest) (bool, error) {
					return tgr.Scope != "read" || tgr.ClientID != tvID, nil
				})
			}, status: 400, code: "invalid_scope"},
		{name: "repeated parameter", req: tokenReq{body: "client_id=" + tvID + "&scope=read&scope=write"}, status: 400, code: "invalid_request"},
		{name: "form body required", req: tokenReq{body: `{"client_id":"tv"}`, contentType: "application/json"}, status: 400, code: "invalid_request"},
		{name: "no issuer and no verification URI", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) { e.srv.Config.Issuer = "" }, status: 500, code: "server_error"},
		{name: "verification URI not absolute", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) { e.srv.Config.Device.VerificationURI = "/device" }, status: 500, code: "server_error"},
		{name: "KVStore down", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) { e.srv.SetKVStore(downKV{}) }, status: 503, code: "temporarily_unavailable"},
		{name: "no KVStore", req: tokenReq{body: "client_id=" + tvID},
			setup: func(e *deviceEnv) { e.srv.SetKVStore(nil) }, status: 500, code: "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			w, data := e.deviceRequest(tt.req.build())
			checkTokenHeaders(t, w)
			if w.Code != tt.status || data["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", w.Code, data, tt.status, tt.code)
			}
			if _, ok := data["device_code"]; ok {
				t.Fatal("an error answer carries a device_code")
			}
			if tt.status == 405 && w.Header().Get("Allow") != "POST" {
				t.Fatalf("Allow = %q", w.Header().Get("Allow"))
			}
		})
	}
}

func TestDeviceAuthorization_ConfidentialClientAuthenticates(t *testing.T) {
	e := newDeviceEnv(t)
	for _, req := range []tokenReq{
		{basic: basic(tvConfID, tvConfSec)},
		{body: "client_id=" + tvConfID + "&client_secret=" + tvConfSec},
	} {
		w, data := e.deviceRequest(req.build())
		if w.Code != http.StatusOK || data["device_code"] == nil {
			t.Fatalf("got %d %v", w.Code, data)
		}
	}
}

func TestDeviceAuthorization_Config(t *testing.T) {
	e := newDeviceEnv(t)
	e.srv.Config.Device = server.DeviceConfig{
		VerificationURI: "https://example.com/activate?lang=en",
		CodeLifetime:    90*time.Second + time.Millisecond,
		PollInterval:    1500 * time.Millisecond,
	}
	da := e.authorizeDevice("")
	if da.VerificationURI != "https://example.com/activate?lang=en" ||
		da.VerificationURIComplete != "https://example.com/activate?lang=en&user_code="+da.UserCode {
		t.Fatalf("verification URIs %q %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.ExpiresIn != 91 || da.Interval != 2 {
		t.Fatalf("expires_in %d interval %d: want both rounded up to whole seconds (91, 2)", da.ExpiresIn, da.Interval)
	}
}

func TestDeviceAuthorization_StoreHoldsNoCodeInTheClear(t *testing.T) {
	e := newDeviceEnv(t)
	rec := &recordingKV{KVStore: e.kv}
	e.srv.SetKVStore(rec)
	da := e.authorizeDevice("read")
	bare := strings.ReplaceAll(da.UserCode, "-", "")
	if err := e.srv.ApproveDeviceCode(context.Background(), strings.ToLower(bare), deviceUser, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.LookupUserCode(context.Background(), "ZZZZ-ZZZZ", "session-secret-value"); err == nil {
		t.Fatal("an unknown code was found")
	}
	e.poll(tvID, da.DeviceCode)
	for _, v := range []string{da.DeviceCode, da.UserCode, bare, "session-secret-value"} {
		if rec.holds(v) {
			t.Fatalf("the KVStore was given a code or throttle key in the clear")
		}
	}
}

func TestLookupUserCode_NormalisesInput(t *testing.T) {
	e := newDeviceEnv(t)
	da := e.authorizeDevice("read write")
	bare := strings.ReplaceAll(da.UserCode, "-", "")
	for _, in := range []string{
		da.UserCode,
		bare,
		strings.ToLower(da.UserCode),
		" " + bare[:2] + " " + bare[2:5] + "-" + bare[5:] + "\t",
		bare[:4] + "--" + bare[4:],
	} {
		req, err := e.srv.LookupUserCode(context.Background(), in, "k")
		if err != nil {
			t.Fatalf("LookupUserCode(%q): %v", in, err)
		}
		if req.UserCode != da.UserCode || req.ClientID != tvID || req.Scope != "read write" {
			t.Fatalf("request %+v", req)
		}
		if want := e.clock.Now().Add(10 * time.Minute); !req.ExpiresAt.Equal(want) {
			t.Fatalf("ExpiresAt %v, want %v", req.ExpiresAt, want)
		}
	}
}

func TestLookupUserCode_InvalidCodes(t *testing.T) {
	tests := []struct {
		name  string
		input func(da deviceAuth) string
		setup func(e *deviceEnv, da deviceAuth)
	}{
		{"unknown code", func(deviceAuth) string { return "BCDF-GHJK" }, nil},
		{"empty", func(deviceAuth) string { return "" }, nil},
		{"too short", func(da deviceAuth) string { return da.UserCode[:8] }, nil},
		{"too long", func(da deviceAuth) string { return da.UserCode + "B" }, nil},
		{"ambiguous characters are not in the alphabet", func(deviceAuth) string { return "O0I1-LAEU" }, nil},
		{"non-ASCII look-alike", func(da deviceAuth) string { return "Ｂ" + da.UserCode[1:] }, nil},
		{"expired", func(da deviceAuth) string { return da.UserCode },
			func(e *deviceEnv, _ deviceAuth) { e.clock.Advance(10 * time.Minute) }},
		{"already approved", func(da deviceAuth) string { return da.UserCode },
			func(e *deviceEnv, da deviceAuth) {
				if err := e.srv.ApproveDeviceCode(context.Background(), da.UserCode, deviceUser, ""); err != nil {
					e.t.Fatal(err)
				}
			}},
		{"already denied", func(da deviceAuth) string { return da.UserCode },
			func(e *deviceEnv, da deviceAuth) {
				if err := e.srv.DenyDeviceCode(context.Background(), da.UserCode); err != nil {
					e.t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			da := e.authorizeDevice("")
			if tt.setup != nil {
				tt.setup(e, da)
			}
			req, err := e.srv.LookupUserCode(context.Background(), tt.input(da), "k")
			if !stderrors.Is(err, server.ErrUserCodeInvalid) || req != nil {
				t.Fatalf("got %v %v, want ErrUserCodeInvalid", req, err)
			}
			if !stderrors.Is(err, errors.ErrInvalidGrant) {
				t.Fatal("ErrUserCodeInvalid does not map to an RFC code")
			}
		})
	}
}

func TestLookupUserCode_ThrottlesGuessing(t *testing.T) {
	e := newDeviceEnv(t)
	ctx := context.Background()
	da := e.authorizeDevice("")
	for i := range server.DefaultUserCodeFailureLimit {
		if _, err := e.srv.LookupUserCode(ctx, "BCDF-BCDF", "attacker"); !stderrors.Is(err, server.ErrUserCodeInvalid) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// The right code is refused too once the key is throttled.
	if _, err := e.srv.LookupUserCode(ctx, da.UserCode, "attacker"); !stderrors.Is(err, server.ErrUserCodeThrottled) {
		t.Fatalf("after %d failures: %v, want ErrUserCodeThrottled", server.DefaultUserCodeFailureLimit, err)
	}
	// Another key is not affected.
	if _, err := e.srv.LookupUserCode(ctx, da.UserCode, "user"); err != nil {
		t.Fatalf("another throttle key: %v", err)
	}
	// A second server process sharing the store sees the same throttle.
	other := server.NewServer(&server.Config{Issuer: issuer}, e.mgr)
	other.SetKVStore(e.kv)
	other.SetClock(e.clock.Now)
	if _, err := other.LookupUserCode(ctx, da.UserCode, "attacker"); !stderrors.Is(err, server.ErrUserCodeThrottled) {
		t.Fatalf("other process: %v", err)
	}
	e.clock.Advance(server.DefaultUserCodeFailureWindow)
	if _, err := e.srv.LookupUserCode(ctx, "BCDF-BCDF", "attacker"); !stderrors.Is(err, server.ErrUserCodeInvalid) {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLookupUserCode_ThrottleIsConfigurable(t *testing.T) {
	e := newDeviceEnv(t)
	e.srv.Config.Device.UserCodeFailureLimit = 2
	e.srv.Config.Device.UserCodeFailureWindow = time.Minute
	ctx := context.Background()
	for range 2 {
		_, _ = e.srv.LookupUserCode(ctx, "nope", "k")
	}
	if _, err := e.srv.LookupUserCode(ctx, "BCDF-BCDF", "k"); !stderrors.Is(err, server.ErrUserCodeThrottled) {
		t.Fatalf("got %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.srv.LookupUserCode(ctx, "BCDF-BCDF", "k"); !stderrors.Is(err, server.ErrUserCodeInvalid) {
		t.Fatalf("after the window: %v", err)
	}
}

func TestApproveDeviceCode_Rules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		request string
		approve func(s *server.Server, userCode string) error
		want    error
	}{
		{"empty scope approves the requested scope", "read write",
			func(s *server.Server, uc string) error { return s.ApproveDeviceCode(ctx, uc, deviceUser, "") }, nil},
		{"narrower scope", "read write",
			func(s *server.Server, uc string) error { return s.ApproveDeviceCode(ctx, uc, deviceUser, "read") }, nil},
		{"wider scope is invalid_scope", "read",
			func(s *server.Server, uc string) error { return s.ApproveDeviceCode(ctx, uc, deviceUser, "read write") }, errors.ErrInvalidScope},
		{"no user", "read",
			func(s *server.Server, uc string) error { return s.ApproveDeviceCode(ctx, uc, "", "") }, errors.ErrServerError},
		{"unknown code", "read",
			func(s *server.Server, _ string) error { return s.ApproveDeviceCode(ctx, "BCDF-BCDF", deviceUser, "") }, server.ErrUserCodeInvalid},
		{"second answer", "read",
			func(s *server.Server, uc string) error {
				if err := s.DenyDeviceCode(ctx, uc); err != nil {
					return err
				}
				return s.ApproveDeviceCode(ctx, uc, deviceUser, "")
			}, server.ErrUserCodeInvalid},
		{"deny after approve", "read",
			func(s *server.Server, uc string) error {
				if err := s.ApproveDeviceCode(ctx, uc, deviceUser, ""); err != nil {
					return err
				}
				return s.DenyDeviceCode(ctx, uc)
			}, server.ErrUserCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			da := e.authorizeDevice(tt.request)
			err := tt.approve(e.srv, da.UserCode)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("got %v", err)
			case tt.want == errors.ErrServerError:
				if code := errors.Code(err); code != "server_error" {
					t.Fatalf("got %v, want a server_error", err)
				}
			case tt.want != nil && !stderrors.Is(err, tt.want):
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if stderrors.Is(err, errors.ErrInvalidScope) {
				// A refused approval leaves the code usable.
				if err := e.srv.ApproveDeviceCode(ctx, da.UserCode, deviceUser, ""); err != nil {
					t.Fatalf("approve after a refused scope: %v", err)
				}
			}
		})
	}
}

func TestDeviceUserAPI_StoreDown(t *testing.T) {
	e := newDeviceEnv(t)
	da := e.authorizeDevice("")
	e.srv.SetKVStore(downKV{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"lookup":  func() error { _, err := e.srv.LookupUserCode(ctx, da.UserCode, "k"); return err }(),
		"approve": e.srv.ApproveDeviceCode(ctx, da.UserCode, deviceUser, ""),
		"deny":    e.srv.DenyDeviceCode(ctx, da.UserCode),
	} {
		if !stderrors.Is(err, oauth2.ErrUnavailable) || stderrors.Is(err, server.ErrUserCodeInvalid) {
			t.Errorf("%s: %v, want the store's ErrUnavailable", name, err)
		}
	}
}

func TestNormalizeUserCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdfghjk", "BCDFGHJK", true},
		{" bcdf - ghjk ", "BCDFGHJK", true},
		{"b-c-d-f-g-h-j-k", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},
		{"BCDF-GHJKL", "", false},
		{"BCDF-GHJA", "", false}, // vowel
		{"BCDF-GHJ0", "", false}, // digit
		{"BCDF_GHJK", "", false},
		{"BCDF\nGHJK", "", false},
		{"ＢCDF-GHJK", "", false},
		{strings.Repeat("-", 60) + "BCDFGHJK", "", false}, // longer than 64 bytes
	}
	for _, tt := range tests {
		got, ok := server.NormalizeUserCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeUserCode(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := server.FormatUserCode("BCDFGHJK"); got != "BCDF-GHJK" {
		t.Errorf("FormatUserCode = %q", got)
	}
}

func TestUserCode_CharactersAreUniform(t *testing.T) {
	e := newDeviceEnv(t)
	counts := map[rune]int{}
	const n = 200
	for range n {
		da := e.authorizeDevice("")
		for _, c := range strings.ReplaceAll(da.UserCode, "-", "") {
			counts[c]++
		}
	}
	// 1600 draws over 20 characters: 80 expected each. A bound of 5
	// standard deviations fails a fair generator about once in 10^5 runs.
	mean := float64(8*n) / float64(len(server.UserCodeAlphabet))
	sd := math.Sqrt(mean * (1 - 1/float64(len(server.UserCodeAlphabet))))
	for _, c := range server.UserCodeAlphabet {
		if d := math.Abs(float64(counts[c]) - mean); d > 5*sd {
			t.Errorf("character %c drawn %d times, expected about %.0f", c, counts[c], mean)
		}
	}
	if len(counts) != len(server.UserCodeAlphabet) {
		t.Errorf("drew %d distinct characters", len(counts))
	}
}

// FuzzUserCodeInput sends arbitrary user input to NormalizeUserCode and
// LookupUserCode: no panic; the normal form is eight characters of the
// alphabet and stable; the live code is found exactly when the input
// normalises to it, and every other input is ErrUserCodeInvalid.
func FuzzUserCodeInput(f *testing.F) {
	e := newDeviceEnv(f)
	e.srv.Config.Device.UserCodeFailureLimit = math.MaxInt
	da := e.authorizeDevice("read")
	live := strings.ReplaceAll(da.UserCode, "-", "")
	for _, s := range []string{da.UserCode, live, strings.ToLower(da.UserCode), " " + da.UserCode + " ",
		"", "-", "BCDF-GHJK", "O0I1-LAEU", "ＢCDF-GHJK", "\x00\xff", strings.Repeat("b", 65)} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in string) {
		norm, ok := server.NormalizeUserCode(in)
		if ok {
			if len(norm) != 8 || strings.Trim(norm, server.UserCodeAlphabet) != "" {
				t.Fatalf("NormalizeUserCode(%q) = %q", in, norm)
			}
			if again, ok2 := server.NormalizeUserCode(server.FormatUserCode(norm)); !ok2 || again != norm {
				t.Fatalf("normal form %q is not stable", norm)
			}
		} else if norm != "" {
			t.Fatalf("refused input gave %q", norm)
		}
		req, err := e.srv.LookupUserCode(ctx, in, "fuzz")
		if ok && norm == live {
			if err != nil || req.UserCode != da.UserCode {
				t.Fatalf("live code not found from %q: %v", in, err)
			}
			return
		}
		if req != nil || !stderrors.Is(err, server.ErrUserCodeInvalid) {
			t.Fatalf("LookupUserCode(%q) = %v %v, want ErrUserCodeInvalid", in, req, err)
		}
	})
}

func TestMetadata_AdvertisesTheDeviceGrant(t *testing.T) {
	e := newDeviceEnv(t)
	md, err := e.srv.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if md.DeviceAuthorizationEndpoint != issuer+server.PathDeviceAuthorization {
		t.Errorf("device_authorization_endpoint %q", md.DeviceAuthorizationEndpoint)
	}
	if !slices.Contains(md.GrantTypesSupported, string(oauth2.DeviceCode)) {
		t.Errorf("grant_types_supported %v lacks the device grant", md.GrantTypesSupported)
	}
	e.srv.SetAllowedGrantType(oauth2.AuthorizationCode)
	if md, _ := e.srv.Metadata(); md.DeviceAuthorizationEndpoint != "" {
		t.Error("the device endpoint is advertised while the grant is off")
	}
}
