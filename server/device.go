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
	"slices"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// The device authorization grant (RFC 8628) in three parts:
//
//   - the device authorization endpoint, HandleDeviceAuthorizationRequest
//     (RFC 8628 3.1, 3.2), which gives the device a device_code and the user
//     a user_code;
//   - the user side, for the verification page an application serves at
//     the verification URI (RFC 8628 3.3): LookupUserCode shows what the
//     user is asked to approve, ApproveDeviceCode and DenyDeviceCode record
//     the answer;
//   - the token endpoint's urn:ietf:params:oauth:grant-type:device_code
//     grant (RFC 8628 3.4, 3.5), served by HandleTokenRequest (see
//     token_device.go).
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
	// DefaultUserCodeFailureLimit, and how long the refusal lasts.
	DefaultUserCodeFailureWindow = 15 * time.Minute
	// PathDevice is the default path of the verification URI under the
	// issuer (RFC 8628 3.2 verification_uri).
	PathDevice = "/device"
)

// UserCodeAlphabet is the alphabet of user codes: the twenty consonants of
// RFC 8628 6.1, so that no code has a vowel (no words) or a character that
// reads as another (0/O, 1/I/L). A user code is eight of them, about 34.6
// bits, shown as XXXX-XXXX.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const (
	userCodeLen = 8
	// maxUserCodeInput bounds what LookupUserCode reads of its input.
	maxUserCodeInput = 64
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
	kvUserCodeFail   = "oauth2/device/user-fail/"
	kvUserCodeLock   = "oauth2/device/user-lock/"
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
	// of user codes (RFC 8628 5.1): after that many unknown codes within
	// the window, LookupUserCode refuses the throttle key for the window.
	// Zero or less means DefaultUserCodeFailureLimit and
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

// DeviceRequest is a pending device authorization request, as the
// verification page shows it to the user (RFC 8628 3.3).
type DeviceRequest struct {
	// UserCode is the user code, normalised and shown as XXXX-XXXX.
	UserCode string
	// ClientID is the client that asked for the authorization.
	ClientID string
	// Scope is the scope the client asked for ("" when it asked for none).
	Scope string
	// ExpiresAt is when the user code stops being accepted.
	ExpiresAt time.Time
}

// KVStoreProvider is implemented by managers that share the oauth2.KVStore
// of their token store, as manage.Manager does; the server uses it when
// Server.KVStore is nil.
type KVStoreProvider interface {
	KVStore() oauth2.KVStore
}

// Errors of the user side of the device grant. Both are for the
// verification page to show; they never say whether a code exists.
var (
	// ErrUserCodeInvalid: the user code is malformed, unknown, expired, or
	// already approved or denied.
	ErrUserCodeInvalid = errors.WithDescription(errors.ErrInvalidGrant, "The code is invalid, expired or already used")
	// ErrUserCodeThrottled: too many invalid user codes were entered under
	// the throttle key; the page should ask the user to wait (RFC 8628 5.1).
	ErrUserCodeThrottled = errors.WithDescription(errors.ErrAccessDenied, "Too many invalid codes were entered; try again later")
)

var (
	errNoKVStore          = stderrors.New("server: no oauth2.KVStore: set Server.KVStore or map a token store that implements it")
	errNoVerificationURI  = stderrors.New("server: the device grant needs Config.Device.VerificationURI or Config.Issuer, an absolute http or https URL")
	errDeviceMethod       = errors.WithDescription(errors.ErrInvalidRequest, "The device authorization endpoint accepts only POST requests")
	errMissingDeviceCode  = errors.WithDescription(errors.ErrInvalidRequest, "The device_code parameter is missing")
	errDeviceCodeInvalid  = errors.WithDescription(errors.ErrInvalidGrant, "The device code is invalid, already used or was issued to another client")
	errApprovedScopeWider = errors.WithDescription(errors.ErrInvalidScope, "The approved scope is wider than the requested scope")
	errApproveNoUser      = stderrors.New("server: ApproveDeviceCode needs the approving user's ID")
	errUserCodeSpace      = stderrors.New("server: no free user code found; the user code space is crowded")
	errMalformedDevice    = stderrors.New("server: a device grant record in the KVStore is malformed")
)

// SetKVStore sets Server.KVStore, where the device grant and the client
// assertion checks keep the state every server process shares.
func (s *Server) SetKVStore(kv oauth2.KVStore) { s.KVStore = kv }

// SetClock sets the clock of device code expiry and client assertion
// checks; nil restores time.Now. Tests set it together with the store's
// clock.
func (s *Server) SetClock(now func() time.Time) { s.now = now }

func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// kvStore returns Server.KVStore, else the manager's (KVStoreProvider).
// Without one the device grant and client assertions cannot work safely
// across processes, so they refuse with a server_error.
func (s *Server) kvStore() (oauth2.KVStore, error) {
	if s.KVStore != nil {
		return s.KVStore, nil
	}
	if p, ok := s.Manager.(KVStoreProvider); ok {
		if kv := p.KVStore(); kv != nil {
			return kv, nil
		}
	}
	return nil, errNoKVStore
}

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
	if err := s.checkClientGrant(client, client.GetID(), oauth2.DeviceCode); err != nil {
		return nil, err
	}
	scope := f.Get("scope")
	if !registeredScope(client, scope) {
		return nil, errScopeNotAllowed
	}
	if fn := s.ClientScopeHandler; fn != nil {
		allowed, err := fn(&oauth2.TokenGenerateRequest{ClientID: client.GetID(), Client: client, Scope: scope, Request: r})
		if err != nil {
			return nil, err
		}
		if !allowed {
			return nil, errScopeNotAllowed
		}
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
	userRec, _ := json.Marshal(&deviceRecord{ClientID: client.GetID(), Scope: scope, Expires: expires, Device: dh})
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
	devRec, _ := json.Marshal(&deviceRecord{ClientID: client.GetID(), Scope: scope, Expires: expires,
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

// registeredScope reports whether every token of scope is among the
// client's registered scopes (RFC 7591 2); any scope when it registered
// none or carries no registration metadata.
func registeredScope(client oauth2.ClientInfo, scope string) bool {
	md, ok := client.(oauth2.ClientMetadata)
	if !ok || len(md.GetScopes()) == 0 {
		return true
	}
	for _, t := range strings.Fields(scope) {
		if !slices.Contains(md.GetScopes(), t) {
			return false
		}
	}
	return true
}

// scopeWithin reports whether every token of scope is in granted.
func scopeWithin(scope, granted string) bool {
	g := strings.Fields(granted)
	for _, t := range strings.Fields(scope) {
		if !slices.Contains(g, t) {
			return false
		}
	}
	return true
}

// randomCode returns 256 random bits, base64url: a device code.
func randomCode() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newUserCode draws a user code of userCodeLen characters, each uniform
// over UserCodeAlphabet (bytes at or above the largest multiple of its
// length are redrawn, so that no character is likelier than another).
func newUserCode() string {
	const n = len(UserCodeAlphabet)
	const limit = 256 - 256%n
	var out [userCodeLen]byte
	var buf [16]byte
	for i := 0; i < userCodeLen; {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[i] = UserCodeAlphabet[int(b)%n]
			if i++; i == userCodeLen {
				break
			}
		}
	}
	return string(out[:])
}

// NormalizeUserCode returns the user code a user typed in its canonical
// form: letters made upper case, dashes and white space dropped. ok is
// false unless the result is userCodeLen characters of UserCodeAlphabet
// (RFC 8628 6.1: a case-insensitive code, punctuation ignored). Input
// longer than 64 bytes is refused unread.
func NormalizeUserCode(in string) (code string, ok bool) {
	if len(in) > maxUserCodeInput {
		return "", false
	}
	var out [userCodeLen]byte
	n := 0
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == userCodeLen || strings.IndexByte(UserCodeAlphabet, c) < 0 {
			return "", false
		}
		out[n] = c
		n++
	}
	if n != userCodeLen {
		return "", false
	}
	return string(out[:]), true
}

// FormatUserCode shows a normalised user code as XXXX-XXXX (RFC 8628 6.1);
// any other input is returned as is.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// LookupUserCode returns the pending request of the user code a user
// entered at the verification page (RFC 8628 3.3), so that the page can ask
// the user to approve it. The input is normalised (NormalizeUserCode).
//
// A malformed, unknown, expired or already answered code is
// ErrUserCodeInvalid, and counts as a failure of throttleKey: after
// Config.Device.UserCodeFailureLimit failures within the window every
// lookup under that key, right or wrong, is ErrUserCodeThrottled until
// the window has passed (RFC 8628 5.1). throttleKey names who is guessing:
// the page's session, the user, the client's IP address, or a combination;
// it is stored hashed. All lookups with an empty throttleKey share one
// counter. A store failure is returned wrapped.
func (s *Server) LookupUserCode(ctx context.Context, userCode, throttleKey string) (*DeviceRequest, error) {
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}
	tk := codeHash(throttleKey)
	if _, err := kv.Get(ctx, kvUserCodeLock+tk); err == nil {
		return nil, ErrUserCodeThrottled
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, fmt.Errorf("server: read user code throttle: %w", err)
	}
	code, rec, err := s.userCodeRecord(ctx, kv, userCode)
	if stderrors.Is(err, ErrUserCodeInvalid) {
		cfg := &s.Config.Device
		n, ierr := kv.Incr(ctx, kvUserCodeFail+tk, cfg.failureWindow())
		if ierr != nil {
			return nil, fmt.Errorf("server: count user code failure: %w", ierr)
		}
		if n >= cfg.failureLimit() {
			if perr := kv.Put(ctx, kvUserCodeLock+tk, []byte{1}, cfg.failureWindow()); perr != nil {
				return nil, fmt.Errorf("server: lock user code throttle: %w", perr)
			}
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return &DeviceRequest{
		UserCode:  FormatUserCode(code),
		ClientID:  rec.ClientID,
		Scope:     rec.Scope,
		ExpiresAt: rec.expiresAt(),
	}, nil
}

// userCodeRecord returns the normalised user code and its live record, or
// ErrUserCodeInvalid.
func (s *Server) userCodeRecord(ctx context.Context, kv oauth2.KVStore, userCode string) (string, *deviceRecord, error) {
	code, ok := NormalizeUserCode(userCode)
	if !ok {
		return "", nil, ErrUserCodeInvalid
	}
	raw, err := kv.Get(ctx, kvDeviceUser+codeHash(code))
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return "", nil, ErrUserCodeInvalid
	}
	if err != nil {
		return "", nil, fmt.Errorf("server: read user code: %w", err)
	}
	var rec deviceRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Device == "" {
		return "", nil, errMalformedDevice
	}
	if !s.clock().Before(rec.expiresAt()) {
		return "", nil, ErrUserCodeInvalid
	}
	return code, &rec, nil
}

// ApproveDeviceCode records that the user userID approved the request of
// userCode (RFC 8628 3.3): the device's next poll gets the tokens, issued
// to userID with scope. An empty scope grants the requested scope; a
// non-empty one may narrow it but never widen it (invalid_scope), and the
// manager checks it against the client's registration when it issues the
// tokens. A code is answered once: approving or denying it again, or after
// it expired, is ErrUserCodeInvalid.
//
// The verification page must authenticate the user, protect the form
// against CSRF, and look the code up with LookupUserCode (which throttles
// guessing) before it shows the approval; ApproveDeviceCode itself does not
// count failures.
func (s *Server) ApproveDeviceCode(ctx context.Context, userCode, userID, scope string) error {
	if userID == "" {
		return errApproveNoUser
	}
	return s.decideDeviceCode(ctx, userCode, func(rec *deviceRecord) (*deviceDecision, error) {
		switch {
		case scope == "":
			scope = rec.Scope
		case rec.Scope != "" && !scopeWithin(scope, rec.Scope):
			return nil, errApprovedScopeWider
		}
		return &deviceDecision{Approved: true, UserID: userID, Scope: scope}, nil
	})
}

// DenyDeviceCode records that the user denied the request of userCode: the
// device's next poll is answered access_denied (RFC 8628 3.5). Its errors
// are those of ApproveDeviceCode.
func (s *Server) DenyDeviceCode(ctx context.Context, userCode string) error {
	return s.decideDeviceCode(ctx, userCode, func(*deviceRecord) (*deviceDecision, error) {
		return &deviceDecision{}, nil
	})
}

// decideDeviceCode consumes the user code (so that it is answered once, in
// any process) and stores the decision for the device's polls.
func (s *Server) decideDeviceCode(ctx context.Context, userCode string, decide func(*deviceRecord) (*deviceDecision, error)) error {
	kv, err := s.kvStore()
	if err != nil {
		return err
	}
	code, rec, err := s.userCodeRecord(ctx, kv, userCode)
	if err != nil {
		return err
	}
	d, err := decide(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Take(ctx, kvDeviceUser+codeHash(code)); err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return ErrUserCodeInvalid
		}
		return fmt.Errorf("server: consume user code: %w", err)
	}
	raw, _ := json.Marshal(d)
	ttl := rec.expiresAt().Sub(s.clock()) + deviceGrace
	stored, err := kv.PutIfAbsent(ctx, kvDeviceDecision+rec.Device, raw, ttl)
	if err != nil {
		return fmt.Errorf("server: store device decision: %w", err)
	}
	if !stored {
		return ErrUserCodeInvalid
	}
	return nil
}
