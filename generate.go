package oauth2

import (
	"context"
	"net/http"
	"time"
)

// GenerateBasic is what a generator gets to make a code or token.
type GenerateBasic struct {
	Client    ClientInfo
	UserID    string
	CreateAt  time.Time
	TokenInfo TokenInfo
	Request   *http.Request
}

// AuthorizeGenerate makes authorization codes.
type AuthorizeGenerate interface {
	Token(ctx context.Context, data *GenerateBasic) (code string, err error)
}

// AccessGenerate makes access tokens and, when isGenRefresh, refresh tokens.
type AccessGenerate interface {
	Token(ctx context.Context, data *GenerateBasic, isGenRefresh bool) (access, refresh string, err error)
}
