package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// The device authorization grant (RFC 8628) in three parts:
//
//   - the device authorization endpoint, HandleDeviceAuthorizationRequest
//     (RFC 8628 3.1, 3.2), which gives the device a device_code and the user
//     a user_code (this file; the user codes in device_usercode.go);
//   - the user side, for the verification page an application serves at
//     the verification URI (RFC 8628 3.3): LookupUserCode shows what the
//     user is asked to approve, ApproveDeviceCode and DenyDeviceCode record
//     the answer (device_verification.go);
//   - the token endpoint's urn:ietf:params:oauth:grant-type:device_code
//     grant (RFC 8628 3.4, 3.5), served by HandleTokenRequest
//     (token_device.go).
//
// Every piece of state lives in the server's oauth2.KVStore, so that any
// number of processes sharing one store serve one grant, under keys made
// from the SHA-256 of the device code and of the user code, never the codes
// themselves.

// Defaults of DeviceConfig.
const (
	// DefaultDeviceCodeLifetime is the lifetime of a device code and its
	// user code (RFC 8628 3.2 expires_in).
	DefaultDeviceCodeLifetime = 10 * time.Minute
	// DefaultDevicePollInterval is the minimum time between two polls of
	// the token endpoint (RFC 8628 3.2 interval; 5 seconds is the
	// default of the RFC).
	DefaultDevicePollInterval = 5 * time.Second
	// DefaultUserCodeFailureLimit is how many unknown user codes one
	// throttle key may enter within DefaultUserCodeFailureWindow before
	// LookupUserCode refuses it (RFC 8628 5.1).
	DefaultUserCodeFailureLimit = 10
	// DefaultUserCodeFailureWindow is the window of
	// DefaultUserCodeFailureLimit, and how long the refusal lasts at most.
	DefaultUserCodeFailureWindow = 15 * time.Minute
	// PathDevice is the default path of the verification URI under the
	// issuer (RFC 8628 3.2 verification_uri).
	PathDevice = "/device"
)

const (
	// deviceSlowDownStep is what a slow_down adds to the interval
	// (RFC 8628 3.5).
	deviceSlowDownStep = 5 * time.Second
	// deviceGrace is how long a device code is remembered after it
	// expires, so that a late poll is answered expired_token rather than
	// invalid_grant (RFC 8628 3.5).
	deviceGrace = 5 * time.Minute
	// userCodeAttempts bounds the draws of a fresh user code when the
	// drawn ones are live already.
	userCodeAttempts = 8
)

// KVStore key prefixes of the device grant. Each is followed by the
// base64url SHA-256 of the code, or of the throttle key.
const (
	kvDeviceCode     = "oauth2/device/code/"     // the device code's record
	kvDeviceUser     = "oauth2/device/user/"     // the user code's record
	kvDeviceDecision = "oauth2/device/decision/" // the user's answer
	kvDevicePoll     = "oauth2/device/poll/"     // live while the client must wait
	kvDeviceSlow     = "oauth2/device/slow/"     // count of slow_down answers
	kvDeviceInterval = "oauth2/device/interval/" // the interval after slow_down
	// kvUserCodeTries and kvUserCodeOK count the user code lookups of a
	// throttle key in one window, and those of them that succeeded;
	// kvUserCodeOKSeen holds the latter count where Get can read it.
	kvUserCodeTries  = "oauth2/device/user-tries/"
	kvUserCodeOK     = "oauth2/device/user-ok/"
	kvUserCodeOKSeen = "oauth2/device/user-ok-seen/"
)

// DeviceConfig configures the device authorization grant (RFC 8628). The
// zero value takes the defaults.
type DeviceConfig struct {
	// VerificationURI is the end-user verification URI (RFC 8628 3.2): the
	// page where the user enters the user code. Empty means Config.Issuer
	// followed by PathDevice. It must be an absolute http or https URL.
	VerificationURI string
	// CodeLifetime is the lifetime of device and user codes (RFC 8628 3.2
	// expires_in), rounded up to whole seconds; zero or less means
	// DefaultDeviceCodeLifetime.
	CodeLifetime time.Duration
	// PollInterval is the minimum time between polls (RFC 8628 3.2
	// interval), rounded up to whole seconds; zero or less means
	// DefaultDevicePollInterval.
	PollInterval time.Duration
	// UserCodeFailureLimit and UserCodeFailureWindow throttle the guessing
	// of user codes (RFC 8628 5.1): after that many unknown codes within a
	// window, LookupUserCode refuses the throttle key for the rest of the
	// window. Zero or less means DefaultUserCodeFailureLimit and
	// DefaultUserCodeFailureWindow.
	UserCodeFailureLimit  int
	UserCodeFailureWindow time.Duration
}

func wholeSeconds(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

func (c *DeviceConfig) lifetime() time.Duration {
	return wholeSeconds(c.CodeLifetime, DefaultDeviceCodeLifetime)
}

func (c *DeviceConfig) interval() time.Duration {
	return wholeSeconds(c.PollInterval, DefaultDevicePollInterval)
}

func (c *DeviceConfig) failureLimit() int64 {
	if c.UserCodeFailureLimit <= 0 {
		return DefaultUserCodeFailureLimit
	}
	return int64(c.UserCodeFailureLimit)
}

func (c *DeviceConfig) failureWindow() time.Duration {
	if c.UserCodeFailureWindow <= 0 {
		return DefaultUserCodeFailureWindow
	}
	return c.UserCodeFailureWindow
}

var (
	errNoVerificationURI  = stderrors.New("server: the device grant needs Config.Device.VerificationURI or Config.Issuer, an absolute http or https URL")
	errDeviceMethod       = errors.WithDescription(errors.ErrInvalidRequest, "The device authorization endpoint accepts only POST requests")
	errMissingDeviceCode  = errors.WithDescription(errors.ErrInvalidRequest, "The device_code parameter is missing")
	errDeviceCodeInvalid  = errors.WithDescription(errors.ErrInvalidGrant, "The device code is invalid, already used or was issued to another client")
	errApprovedScopeWider = errors.WithDescription(errors.ErrInvalidScope, "The approved scope is wider than the requested scope")
	errApproveNoUser      = stderrors.New("server: ApproveDeviceCode needs the approving user's ID")
	errUserCodeSpace      = stderrors.New("server: no free user code found; the user code space is crowded")
	errMalformedDevice    = stderrors.New("server: a device grant record in the KVStore is malformed")
)

// deviceRecord is the state of one device authorization request. The
// device code's record has every field but Device; the user code's record
// has Device, the key hash of the device code, instead of Interval.
type deviceRecord struct {
	ClientID string `json:"c"`
	Scope    string `json:"s,omitempty"`
	Expires  int64  `json:"e"` // unix milliseconds
	Interval int64  `json:"i,omitempty"`
	Device   string `json:"d,omitempty"`
}

func (r *deviceRecord) expiresAt() time.Time { return time.UnixMilli(r.Expires) }

// deviceDecision is the user's answer (RFC 8628 3.3).
type deviceDecision struct {
	Approved bool   `json:"a,omitempty"`
	UserID   string `json:"u,omitempty"`
	Scope    string `json:"s,omitempty"`
}

// codeHash returns the base64url SHA-256 of v: the KVStore keys hold it,
// never a code.
func codeHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HandleDeviceAuthorizationRequest serves the device authorization endpoint
// (RFC 8628 3.1, 3.2). The request is a form-encoded POST read with the
// token endpoint's strict parsing; the client authenticates as it does at
// the token endpoint (RFC 8628 3.1), a public client with its client_id
// alone. The grant must be in Config.AllowedGrantTypes
// (unsupported_grant_type otherwise) and allowed for the client by its
// registration and the ClientAuthorizedHandler (unauthorized_client); the
// requested scope must be within the client's registered scopes and pass
// the ClientScopeHandler (invalid_scope).
//
// The answer (RFC 8628 3.2) carries a device_code of 256 random bits, a
// user_code of eight characters of UserCodeAlphabet shown as XXXX-XXXX,
// verification_uri, verification_uri_complete (the verification URI with
// the user_code parameter), expires_in and interval, with Cache-Control:
// no-store. Errors are answered as at the token endpoint (RFC 6749 5.2);
// a method other than POST is 405 with an Allow header. The returned error
// is that of writing the response.
func (s *Server) HandleDeviceAuthorizationRequest(w http.ResponseWriter, r *http.Request) error {
	f := getForm()
	defer putForm(f)
	resp, err := s.deviceAuthorization(w, r, f)
	if err != nil {
		return s.tokenError(w, err)
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return s.tokenError(w, fmt.Errorf("server: device authorization response: %w", err))
	}
	setTokenHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(body, '\n'))
	return err
}

// deviceAuthorizationResponse is the answer of RFC 8628 3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request, f *form) (*deviceAuthorizationResponse, error) {
	if r.Method != http.MethodPost {
		return nil, errors.WithStatus(errDeviceMethod, http.StatusMethodNotAllowed,
			http.Header{"Allow": {http.MethodPost}})
	}
	if err := f.readTokenForm(w, r, s.Config.maxBodyBytes()); err != nil {
		return nil, err
	}
	if !s.CheckGrantType(oauth2.DeviceCode) {
		return nil, errUnsupportedGrant
	}
	if s.hooksReadForm() {
		s.fillRequestForm(r, f)
	}
	ctx := r.Context()
	client, _, err := s.authenticateClient(ctx, r, f)
	if err != nil {
		return nil, err
	}
	if err := s.checkClientGrant(client, client.ID(), oauth2.DeviceCode); err != nil {
		return nil, err
	}
	scope, err := readScope(f)
	if err != nil {
		return nil, err
	}
	if err := f.checkBodyOnly(); err != nil {
		return nil, err
	}
	if err := client.CheckScope(scope); err != nil {
		return nil, err
	}
	if err := s.checkClientScope(&oauth2.TokenGenerateRequest{ClientID: client.ID(), Client: client.Info(), Scope: scope, Request: r}); err != nil {
		return nil, err
	}
	verification, err := s.verificationURI()
	if err != nil {
		return nil, err
	}
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}

	cfg := &s.Config.Device
	lifetime, interval := cfg.lifetime(), cfg.interval()
	expires := s.clock().Add(lifetime).UnixMilli()
	deviceCode := randomCode()
	dh := codeHash(deviceCode)
	userRec, _ := json.Marshal(&deviceRecord{ClientID: client.ID(), Scope: scope, Expires: expires, Device: dh})
	var userCode string
	for i := 0; ; i++ {
		if i == userCodeAttempts {
			return nil, errUserCodeSpace
		}
		userCode = newUserCode()
		fresh, err := kv.PutIfAbsent(ctx, kvDeviceUser+codeHash(userCode), userRec, lifetime)
		if err != nil {
			return nil, fmt.Errorf("server: store user code: %w", err)
		}
		if fresh {
			break
		}
	}
	devRec, _ := json.Marshal(&deviceRecord{ClientID: client.ID(), Scope: scope, Expires: expires,
		Interval: int64(interval / time.Second)})
	if err := kv.Put(ctx, kvDeviceCode+dh, devRec, lifetime+deviceGrace); err != nil {
		_ = kv.Delete(context.WithoutCancel(ctx), kvDeviceUser+codeHash(userCode))
		return nil, fmt.Errorf("server: store device code: %w", err)
	}
	shown := FormatUserCode(userCode)
	return &deviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                shown,
		VerificationURI:         verification.String(),
		VerificationURIComplete: withUserCode(verification, shown),
		ExpiresIn:               int64(lifetime / time.Second),
		Interval:                int64(interval / time.Second),
	}, nil
}

// verificationURI returns Config.Device.VerificationURI, or the issuer
// followed by PathDevice, checked to be an absolute http(s) URL.
func (s *Server) verificationURI() (*url.URL, error) {
	raw := s.Config.Device.VerificationURI
	if raw == "" {
		if s.Config.Issuer == "" {
			return nil, errNoVerificationURI
		}
		raw = strings.TrimSuffix(s.Config.Issuer, "/") + PathDevice
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, errNoVerificationURI
	}
	return u, nil
}

// withUserCode returns the verification URI with the user_code parameter
// added (RFC 8628 3.3.1 verification_uri_complete).
func withUserCode(u *url.URL, userCode string) string {
	c := *u
	q := c.Query()
	q.Set("user_code", userCode)
	c.RawQuery = q.Encode()
	return c.String()
}

// randomCode returns 256 random bits, base64url: a device code.
func randomCode() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
