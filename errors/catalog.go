package errors

import "errors"

// Error codes of RFC 6749 4.1.2.1 and 5.2. Each error's text is its code.
var (
	ErrInvalidRequest          = errors.New("invalid_request")
	ErrUnauthorizedClient      = errors.New("unauthorized_client")
	ErrAccessDenied            = errors.New("access_denied")
	ErrUnsupportedResponseType = errors.New("unsupported_response_type")
	ErrInvalidScope            = errors.New("invalid_scope")
	ErrServerError             = errors.New("server_error")
	ErrTemporarilyUnavailable  = errors.New("temporarily_unavailable")
	ErrInvalidClient           = errors.New("invalid_client")
	ErrInvalidGrant            = errors.New("invalid_grant")
	ErrUnsupportedGrantType    = errors.New("unsupported_grant_type")
)

// Error codes of RFC 6750 3.1 (protected resources).
var (
	ErrInvalidToken      = errors.New("invalid_token")
	ErrInsufficientScope = errors.New("insufficient_scope")
)

// Error code of RFC 7009 2.2.1 (revocation).
var ErrUnsupportedTokenType = errors.New("unsupported_token_type")

// Error codes of RFC 8628 3.5 (device authorization grant).
var (
	ErrAuthorizationPending = errors.New("authorization_pending")
	ErrSlowDown             = errors.New("slow_down")
	ErrExpiredToken         = errors.New("expired_token")
)

// codes lists every code error, for Lookup.
var codes = []error{
	ErrInvalidRequest, ErrUnauthorizedClient, ErrAccessDenied,
	ErrUnsupportedResponseType, ErrInvalidScope, ErrServerError,
	ErrTemporarilyUnavailable, ErrInvalidClient, ErrInvalidGrant,
	ErrUnsupportedGrantType, ErrInvalidToken, ErrInsufficientScope,
	ErrUnsupportedTokenType, ErrAuthorizationPending, ErrSlowDown,
	ErrExpiredToken,
}

// Descriptions are the default error_description of each code.
var Descriptions = map[error]string{
	ErrInvalidRequest:          "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed",
	ErrUnauthorizedClient:      "The client is not authorized to request an authorization code or token using this method",
	ErrAccessDenied:            "The resource owner or authorization server denied the request",
	ErrUnsupportedResponseType: "The authorization server does not support obtaining an authorization code using this method",
	ErrInvalidScope:            "The requested scope is invalid, unknown, or malformed",
	ErrServerError:             "The authorization server encountered an unexpected condition that prevented it from fulfilling the request",
	ErrTemporarilyUnavailable:  "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server",
	ErrInvalidClient:           "Client authentication failed",
	ErrInvalidGrant:            "The provided authorization grant or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client",
	ErrUnsupportedGrantType:    "The authorization grant type is not supported by the authorization server",
	ErrInvalidToken:            "The access token provided is expired, revoked, malformed, or invalid for other reasons",
	ErrInsufficientScope:       "The request requires higher privileges than provided by the access token",
	ErrUnsupportedTokenType:    "The authorization server does not support the revocation of the presented token type",
	ErrAuthorizationPending:    "The authorization request is still pending",
	ErrSlowDown:                "The client is polling too quickly",
	ErrExpiredToken:            "The device code has expired",
}

// StatusCodes are the HTTP statuses of each code: 400 unless listed
// (RFC 6749 5.2: 401 for invalid_client; RFC 6750 3.1: 401 for
// invalid_token, 403 for insufficient_scope).
var StatusCodes = map[error]int{
	ErrInvalidClient:          401,
	ErrInvalidToken:           401,
	ErrInsufficientScope:      403,
	ErrServerError:            500,
	ErrTemporarilyUnavailable: 503,
}
