package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

func TestLookup_MapsEveryErrorToRFCCodeAndStatus(t *testing.T) {
	secretErr := stderrors.New("pq: password authentication failed for secret s3cr3t")
	tests := []struct {
		name       string
		err        error
		wantCode   error
		wantStatus int
		wantDesc   string
	}{
		{"code itself", errors.ErrInvalidRequest, errors.ErrInvalidRequest, 400, errors.Descriptions[errors.ErrInvalidRequest]},
		{"invalid_client is 401 (RFC 6749 5.2)", errors.ErrInvalidClient, errors.ErrInvalidClient, 401, errors.Descriptions[errors.ErrInvalidClient]},
		{"unauthorized_client is 400 at the token endpoint", errors.ErrUnauthorizedClient, errors.ErrUnauthorizedClient, 400, errors.Descriptions[errors.ErrUnauthorizedClient]},
		{"seed detail error keeps its description", errors.ErrInvalidAuthorizeCode, errors.ErrInvalidGrant, 400, "The authorization code is invalid, expired or already used"},
		{"wrapped detail error", fmt.Errorf("exchange: %w", errors.ErrInvalidCodeChallenge), errors.ErrInvalidGrant, 400, "The code_verifier does not match the code_challenge"},
		{"invalid_token is 401 (RFC 6750 3.1)", errors.ErrExpiredAccessToken, errors.ErrInvalidToken, 401, "The access token has expired"},
		{"store outage is 503", fmt.Errorf("redis: %w", oauth2.ErrUnavailable), errors.ErrTemporarilyUnavailable, 503, errors.Descriptions[errors.ErrTemporarilyUnavailable]},
		{"deadline is 503", fmt.Errorf("query: %w", context.DeadlineExceeded), errors.ErrTemporarilyUnavailable, 503, errors.Descriptions[errors.ErrTemporarilyUnavailable]},
		{"unknown error is a 500 that hides its text", secretErr, errors.ErrServerError, 500, errors.Descriptions[errors.ErrServerError]},
		{"slow_down is 400 (RFC 8628 3.5)", errors.ErrSlowDown, errors.ErrSlowDown, 400, errors.Descriptions[errors.ErrSlowDown]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, status, desc := errors.Lookup(tt.err)
			if code != tt.wantCode || status != tt.wantStatus || desc != tt.wantDesc {
				t.Fatalf("Lookup = (%v, %d, %q), want (%v, %d, %q)", code, status, desc, tt.wantCode, tt.wantStatus, tt.wantDesc)
			}
		})
	}
}

func TestNewResponse_UsesLookupStatusUnlessGiven(t *testing.T) {
	r := errors.NewResponse(errors.ErrInvalidClient, 0)
	if r.StatusCode != http.StatusUnauthorized || r.Error != errors.ErrInvalidClient {
		t.Fatalf("got %d %v", r.StatusCode, r.Error)
	}
	r = errors.NewResponse(errors.ErrInvalidClient, http.StatusBadRequest)
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("explicit status ignored: %d", r.StatusCode)
	}
	r.SetHeader("WWW-Authenticate", `Basic realm="oauth2"`)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("header not set")
	}
}

func TestCode_ReturnsWireString(t *testing.T) {
	if got := errors.Code(errors.ErrMissingCodeChallenge); got != "invalid_request" {
		t.Fatalf("Code = %q", got)
	}
	if got := errors.Code(nil); got != "" {
		t.Fatalf("Code(nil) = %q", got)
	}
}
