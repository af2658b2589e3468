package server

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"strconv"
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
	// ErrUserCodeThrottled: too many invalid user codes were entered under
	// the throttle key; the page should ask the user to wait (RFC 8628 5.1).
	ErrUserCodeThrottled = errors.WithDescription(errors.ErrAccessDenied, "Too many invalid codes were entered; try again later")
)

// LookupUserCode returns the pending request of the user code a user
// entered at the verification page (RFC 8628 3.3), so that the page can ask
// the user to approve it. The input is normalised (NormalizeUserCode). A
// malformed, unknown, expired or already answered code is
// ErrUserCodeInvalid.
//
// Guessing is throttled per throttleKey (RFC 8628 5.1): after
// Config.Device.UserCodeFailureLimit failed lookups within a window of
// Config.Device.UserCodeFailureWindow (windows follow one another on the
// server's clock), every lookup under that key, right or wrong, is
// ErrUserCodeThrottled until the window ends, in every process sharing the
// store. Each lookup first reserves an attempt with one atomic
// KVStore.Incr and looks the code up only when the reservation is within
// the limit, so that of any number of concurrent wrong codes at most the
// limit are looked up; a successful lookup then gives its attempt back
// (a second counter of the same window), so that a user who enters the
// right code is not counted, while a valid code of one's own, looked up
// any number of times, buys no further guesses. throttleKey names who is
// guessing: the page's session, the user, the client's IP address, or a
// combination; it is stored hashed. All lookups with an empty throttleKey
// share one counter. A store failure is returned wrapped.
func (s *Server) LookupUserCode(ctx context.Context, userCode, throttleKey string) (*DeviceRequest, error) {
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}
	cfg := &s.Config.Device
	tries, ok, okSeen, ttl := userCodeThrottleKeys(throttleKey, cfg.failureWindow(), s.clock())
	n, err := kv.Incr(ctx, tries, ttl)
	if err != nil {
		return nil, fmt.Errorf("server: count user code lookup: %w", err)
	}
	if limit := cfg.failureLimit(); n > limit {
		// Over the limit on reservations alone: only the successes of
		// this window can make room.
		succeeded, err := kvCount(ctx, kv, okSeen)
		if err != nil {
			return nil, err
		}
		if n-succeeded > limit {
			return nil, ErrUserCodeThrottled
		}
	}
	code, rec, err := s.userCodeRecord(ctx, kv, userCode)
	if err != nil {
		return nil, err
	}
	// A counter made by Incr is not readable with Get (the KVStore
	// contract does not say), so the count is published beside it. Two
	// concurrent successes may publish out of order: the published count is
	// then too low, which throttles sooner, never later.
	m, err := kv.Incr(ctx, ok, ttl)
	if err != nil {
		return nil, fmt.Errorf("server: count user code lookup: %w", err)
	}
	if err := kv.Put(ctx, okSeen, strconv.AppendInt(nil, m, 10), ttl); err != nil {
		return nil, fmt.Errorf("server: count user code lookup: %w", err)
	}
	return &DeviceRequest{
		UserCode:  FormatUserCode(code),
		ClientID:  rec.ClientID,
		Scope:     rec.Scope,
		ExpiresAt: rec.expiresAt(),
	}, nil
}

// userCodeThrottleKeys returns the KVStore keys of the attempts and of the
// successful lookups of throttleKey in the window now falls in (the
// counter and its published value), and the time left in that window,
// which all of them live for: a success is always counted in the window of
// its own reservation, so that successes never outnumber the attempts they
// give back.
func userCodeThrottleKeys(throttleKey string, window time.Duration, now time.Time) (tries, ok, okSeen string, ttl time.Duration) {
	w := now.UnixNano() / int64(window)
	suffix := codeHash(throttleKey) + "/" + strconv.FormatInt(w, 10)
	ttl = time.Duration((w+1)*int64(window) - now.UnixNano())
	return kvUserCodeTries + suffix, kvUserCodeOK + suffix, kvUserCodeOKSeen + suffix, ttl
}

// kvCount reads a count published with KVStore.Put; a missing one is zero.
func kvCount(ctx context.Context, kv oauth2.KVStore, key string) (int64, error) {
	raw, err := kv.Get(ctx, key)
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("server: read user code throttle: %w", err)
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("server: read user code throttle: %w", errMalformedDevice)
	}
	return n, nil
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
