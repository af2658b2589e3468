package server

import (
	"context"

	"github.com/oauth2d/oauth2"
)

// The handler types of go-oauth2 v3 (gopkg.in/oauth2.v3) whose signatures
// v4 changed, and which this package keeps in v4's form: a type cannot
// have two signatures. These adapters let v3 handlers be set with a
// one-line change, e.g.
//
//	srv.SetClientScopeHandler(server.ClientScopeHandlerV3(myHandler))

// ClientScopeHandlerV3 adapts a v3 ClientScopeHandler, which got the client
// ID and the requested scope.
func ClientScopeHandlerV3(fn func(clientID, scope string) (allowed bool, err error)) ClientScopeHandler {
	return func(tgr *oauth2.TokenGenerateRequest) (bool, error) {
		return fn(tgr.ClientID, tgr.Scope)
	}
}

// RefreshingScopeHandlerV3 adapts a v3 RefreshingScopeHandler, which got
// the requested and the original scope.
func RefreshingScopeHandlerV3(fn func(newScope, oldScope string) (allowed bool, err error)) RefreshingScopeHandler {
	return func(tgr *oauth2.TokenGenerateRequest, oldScope string) (bool, error) {
		return fn(tgr.Scope, oldScope)
	}
}

// PasswordAuthorizationHandlerV3 adapts a v3 PasswordAuthorizationHandler,
// which got the username and password only.
func PasswordAuthorizationHandlerV3(fn func(username, password string) (userID string, err error)) PasswordAuthorizationHandler {
	return func(_ context.Context, _, username, password string) (string, error) {
		return fn(username, password)
	}
}
