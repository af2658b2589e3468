package errors

import (
	"context"
	stderrors "errors"
	"net/http"

	"github.com/oauth2d/oauth2"
)

// detailError is an error code with a fixed, more specific description.
type detailError struct {
	code        error
	description string
}

func (e *detailError) Error() string { return e.description }
func (e *detailError) Unwrap() error { return e.code }

// New returns an error that formats as the given text, as go-oauth2's
// errors.New does (it is the standard library's errors.New). An error made
// with it wraps no RFC code: the server answers server_error and does not
// show its text. Use WithDescription for an error the client should see.
func New(text string) error { return stderrors.New(text) }

// WithDescription returns an error that matches code with errors.Is and
// carries description as its error_description. The description goes on
// the wire: it must never hold a secret, a token or a code.
func WithDescription(code error, description string) error {
	return &detailError{code: code, description: description}
}

// Errors of the seed (go-oauth2), each now wrapping the RFC code it stands
// for so that the server answers with that code.
var (
	ErrInvalidRedirectURI   = WithDescription(ErrInvalidRequest, "The redirect_uri is not registered for this client")
	ErrInvalidAuthorizeCode = WithDescription(ErrInvalidGrant, "The authorization code is invalid, expired or already used")
	ErrInvalidAccessToken   = WithDescription(ErrInvalidToken, "The access token is invalid")
	ErrInvalidRefreshToken  = WithDescription(ErrInvalidGrant, "The refresh token is invalid, expired or revoked")
	ErrExpiredAccessToken   = WithDescription(ErrInvalidToken, "The access token has expired")
	ErrExpiredRefreshToken  = WithDescription(ErrInvalidGrant, "The refresh token has expired")
	// ErrMissingCodeVerifier: the code was issued with a PKCE challenge and
	// the token request has no code_verifier (RFC 7636 4.6).
	ErrMissingCodeVerifier = WithDescription(ErrInvalidGrant, "The code_verifier is missing")
	// ErrMissingCodeChallenge: PKCE is required and the authorization
	// request has no code_challenge (RFC 7636 4.4.1).
	ErrMissingCodeChallenge = WithDescription(ErrInvalidRequest, "The code_challenge is required")
	// ErrInvalidCodeChallenge: the code_verifier does not match the
	// challenge, or a verifier was sent for a code issued without one.
	ErrInvalidCodeChallenge = WithDescription(ErrInvalidGrant, "The code_verifier does not match the code_challenge")
	// ErrCodeChallengeRquired keeps the seed's spelling.
	ErrCodeChallengeRquired = ErrMissingCodeChallenge
	// ErrUnsupportedCodeChallengeMethod: RFC 7636 4.4.1 "transform
	// algorithm not supported".
	ErrUnsupportedCodeChallengeMethod = WithDescription(ErrInvalidRequest, "Transform algorithm not supported")
	// ErrInvalidCodeChallengeLen: a verifier or challenge outside 43..128
	// characters of the unreserved set (RFC 7636 4.1, 4.2).
	ErrInvalidCodeChallengeLen = WithDescription(ErrInvalidRequest, "The code_challenge or code_verifier is malformed")
)

// Lookup maps any error to what goes on the wire: its code error, HTTP
// status and description. A StatusError in err's chain sets the status. Store outages (oauth2.ErrUnavailable, a context
// deadline) map to temporarily_unavailable; an error that wraps no code maps
// to server_error, and its text is not shown.
func Lookup(err error) (code error, status int, description string) {
	if err == nil {
		return nil, http.StatusOK, ""
	}
	for _, c := range codes {
		if stderrors.Is(err, c) {
			code = c
			break
		}
	}
	if code == nil {
		switch {
		case stderrors.Is(err, oauth2.ErrUnavailable), stderrors.Is(err, context.DeadlineExceeded):
			code = ErrTemporarilyUnavailable
		default:
			code = ErrServerError
		}
	}
	status = http.StatusBadRequest
	if s, ok := StatusCodes[code]; ok {
		status = s
	}
	if s, _, ok := statusOf(err); ok {
		status = s
	}
	var d *detailError
	if stderrors.As(err, &d) && d.code == code {
		description = d.description
	} else {
		description = Descriptions[code]
	}
	return code, status, description
}

// Code returns the RFC error code string of err ("invalid_grant", ...).
func Code(err error) string {
	c, _, _ := Lookup(err)
	if c == nil {
		return ""
	}
	return c.Error()
}
