package generates

// UserID returns the resource owner the token was issued for: the sub
// claim (RFC 9068 2.2). It is the accessor of the seed's (go-oauth2 v3)
// UserID field, whose tokens carried a user_id claim instead; code that
// read claims.UserID reads claims.UserID().
func (c *JWTAccessClaims) UserID() string { return c.Subject }

// ExpiredAt returns when the token expires in seconds since the Unix
// epoch: the exp claim (RFC 7519 4.1.4), 0 when it has none. It is the
// accessor of the seed's (go-oauth2 v3) ExpiredAt field, whose tokens
// carried an expired_at claim instead.
func (c *JWTAccessClaims) ExpiredAt() int64 {
	if c.ExpiresAt == nil {
		return 0
	}
	return c.ExpiresAt.Unix()
}
