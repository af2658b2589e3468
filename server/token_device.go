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
)

// The device authorization grant at the token endpoint (RFC 8628 3.4,
// 3.5): the device polls with its device_code until the user has answered
// at the verification page. The device authorization endpoint and the user
// side are in device_authorization.go and device_verification.go.

type deviceGrant struct{}

func init() { RegisterGrant(deviceGrant{}) }

// Info names the device grant: urn:ietf:params:oauth:grant-type:device_code,
// "device_code" for short.
func (deviceGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.DeviceCode, Name: "device_code"}
}

// ReadRequest reads device_code (RFC 8628 3.4) into tgr.Code.
func (deviceGrant) ReadRequest(_ context.Context, _ *Server, p Params, tgr *oauth2.TokenGenerateRequest) error {
	if tgr.Code = p.Get("device_code"); tgr.Code == "" {
		return errMissingDeviceCode
	}
	return nil
}

// Issue answers the poll (deviceAccessToken).
func (deviceGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	return s.deviceAccessToken(ctx, tgr)
}

// deviceAccessToken answers a poll of the device_code grant (RFC 8628 3.4,
// 3.5); tgr.Code is the device_code and tgr.Client the authenticated
// client. In order:
//
//   - an unknown device code, one already exchanged, or one issued to
//     another client is invalid_grant;
//   - an expired one is expired_token;
//   - a poll sooner than the interval after the previous one is
//     slow_down, and the interval grows by five seconds for this and every
//     later poll (RFC 8628 3.5);
//   - while the user has not answered, authorization_pending;
//   - a denial is access_denied;
//   - an approval consumes the device code (KVStore.Take: once, in any
//     process) and has the manager issue the tokens to the approving user
//     with the approved scope.
func (s *Server) deviceAccessToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}
	if tgr.Code == "" {
		return nil, errMissingDeviceCode
	}
	dh := codeHash(tgr.Code)
	raw, err := kv.Get(ctx, kvDeviceCode+dh)
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, errDeviceCodeInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("server: read device code: %w", err)
	}
	var rec deviceRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.ClientID == "" {
		return nil, errMalformedDevice
	}
	if rec.ClientID != tgr.ClientID {
		return nil, errDeviceCodeInvalid
	}
	now := s.clock()
	if !now.Before(rec.expiresAt()) {
		return nil, errors.ErrExpiredToken
	}
	keep := rec.expiresAt().Sub(now) + deviceGrace
	if err := s.devicePollRate(ctx, kv, dh, &rec, keep); err != nil {
		return nil, err
	}

	draw, err := kv.Get(ctx, kvDeviceDecision+dh)
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, errors.ErrAuthorizationPending
	}
	if err != nil {
		return nil, fmt.Errorf("server: read device decision: %w", err)
	}
	var d deviceDecision
	if err := json.Unmarshal(draw, &d); err != nil {
		return nil, errMalformedDevice
	}
	if !d.Approved {
		return nil, errors.ErrAccessDenied
	}
	if _, err := kv.Take(ctx, kvDeviceCode+dh); err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			// Another poll took it first.
			return nil, errDeviceCodeInvalid
		}
		return nil, fmt.Errorf("server: consume device code: %w", err)
	}
	issue := *tgr
	issue.Code = ""
	issue.UserID = d.UserID
	issue.Scope = d.Scope
	ti, err := s.Manager.GenerateAccessToken(ctx, oauth2.DeviceCode, &issue)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrUnavailable) || stderrors.Is(err, context.DeadlineExceeded) {
			// Nothing was issued (the manager stores all or nothing):
			// give the device code back so that a later poll can retry.
			_ = kv.Put(context.WithoutCancel(ctx), kvDeviceCode+dh, raw, keep)
		}
		return nil, err
	}
	bg := context.WithoutCancel(ctx)
	for _, k := range []string{kvDeviceDecision, kvDevicePoll, kvDeviceSlow, kvDeviceInterval} {
		_ = kv.Delete(bg, k+dh)
	}
	return ti, nil
}

// devicePollRate enforces the polling interval (RFC 8628 3.5) with a
// KVStore key that lives for the interval after each accepted poll: a poll
// that finds it live is slow_down, adds five seconds to the interval, and
// restarts the wait. The key lives four fifths of the interval, because a
// client that waits the interval between sending its polls (as
// golang.org/x/oauth2 does) reaches the server a little sooner than that
// after the previous one was served.
func (s *Server) devicePollRate(ctx context.Context, kv oauth2.KVStore, dh string, rec *deviceRecord, keep time.Duration) error {
	interval := time.Duration(rec.Interval) * time.Second
	if raw, err := kv.Get(ctx, kvDeviceInterval+dh); err == nil {
		if v, perr := strconv.ParseInt(string(raw), 10, 64); perr == nil && v > rec.Interval {
			interval = time.Duration(v) * time.Second
		}
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return fmt.Errorf("server: read poll interval: %w", err)
	}
	fresh, err := kv.PutIfAbsent(ctx, kvDevicePoll+dh, []byte{1}, pollWait(interval))
	if err != nil {
		return fmt.Errorf("server: record poll: %w", err)
	}
	if fresh {
		return nil
	}
	n, err := kv.Incr(ctx, kvDeviceSlow+dh, keep)
	if err != nil {
		return fmt.Errorf("server: count slow_down: %w", err)
	}
	grown := time.Duration(rec.Interval)*time.Second + time.Duration(n)*deviceSlowDownStep
	secs := strconv.FormatInt(int64(grown/time.Second), 10)
	if err := kv.Put(ctx, kvDeviceInterval+dh, []byte(secs), keep); err != nil {
		return fmt.Errorf("server: store poll interval: %w", err)
	}
	if err := kv.Put(ctx, kvDevicePoll+dh, []byte{1}, pollWait(grown)); err != nil {
		return fmt.Errorf("server: record poll: %w", err)
	}
	return errors.ErrSlowDown
}

// pollWait is how long after a poll the next one is too soon.
func pollWait(interval time.Duration) time.Duration { return interval - interval/5 }
