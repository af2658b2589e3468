package server

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// The user side of the device authorization grant (RFC 8628 3.3): the
// verification page an application serves at the verification URI looks
// the user code up, shows the request, and records the user's answer.

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

// Errors of the user side of the device grant. Both are for the
// verification page to show; they never say whether a code exists.
var (
	// ErrUserCodeInvalid: the user code is malformed, unknown, expired, or
	// already approved or denied.
	ErrUserCodeInvalid = errors.WithDescription(errors.ErrInvalidGrant, "The code is invalid, expired or already used")
	// ErrUserCodeThrottled: too many user codes were entered under the
	// throttle key; the page should ask the user to wait (RFC 8628 5.1).
	ErrUserCodeThrottled = errors.WithDescription(errors.ErrAccessDenied, "Too many invalid codes were entered; try again later")
)

// LookupUserCode returns the pending request of the user code a user
// entered at the verification page (RFC 8628 3.3), so that the page can ask
// the user to approve it. The input is normalised (NormalizeUserCode). A
// malformed, unknown, expired or already answered code is
// ErrUserCodeInvalid.
//
// Guessing is throttled per throttleKey (RFC 8628 5.1): every lookup first
// reserves an attempt with one atomic KVStore.Incr, and only a reserved
// attempt looks the code up. Once Config.Device.UserCodeFailureLimit
// attempts were reserved within the window (Config.Device
// .UserCodeFailureWindow, counted from the key's first attempt), every
// lookup under that key, right or wrong, is ErrUserCodeThrottled until the
// window has passed, in every process sharing the store; of any number of
// concurrent lookups at most the limit look a code up. A successful lookup
// counts too, so that looking up a valid code of one's own never buys
// further guesses. throttleKey names who is guessing: the page's session,
// the user, the client's IP address, or a combination; it is stored
// hashed. All lookups with an empty throttleKey share one counter. A store
// failure is returned wrapped.
func (s *Server) LookupUserCode(ctx context.Context, userCode, throttleKey string) (*DeviceRequest, error) {
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}
	cfg := &s.Config.Device
	n, err := kv.Incr(ctx, kvUserCodeTries+codeHash(throttleKey), cfg.failureWindow())
	if err != nil {
		return nil, fmt.Errorf("server: count user code lookup: %w", err)
	}
	if n > cfg.failureLimit() {
		return nil, ErrUserCodeThrottled
	}
	code, rec, err := s.userCodeRecord(ctx, kv, userCode)
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
		case rec.Scope != "" && !policy.ScopeWithin(scope, rec.Scope):
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
