package generates

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// appendJSONString must agree with encoding/json on every input: the same
// string comes back, with invalid UTF-8 replaced the same way.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f\x7f", "\n\r\t\b\f", "é✓𝄞", "\xff\xfe", "a\xc3", "\u2028\u2029", "<&>", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ours := appendJSONString(nil, s)
		if !json.Valid(ours) {
			t.Fatalf("invalid JSON %q", ours)
		}
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got, want string
		if err := json.Unmarshal(ours, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q decodes to %q, encoding/json gives %q", s, got, want)
		}
	})
}

// The hand-built claims decode to exactly the struct encoding/json would
// have encoded.
func TestAppendClaims_MatchesEncodingJSON(t *testing.T) {
	v := claimValues{sub: "user-1", clientID: "client\"1", scope: "read write", exp: 1700003600, iat: 1700000000, authTime: 1699999000, jti: make([]byte, jtiBytes)}
	for _, g := range []*JWTAccessGenerate{
		first(newJWTAccessGenerate(nil)),
		first(newJWTAccessGenerate([]JWTOption{WithIssuer("https://as"), WithAudience("a", "b")})),
	} {
		var got JWTAccessClaims
		if err := json.Unmarshal(g.appendClaims(nil, &v), &got); err != nil {
			t.Fatal(err)
		}
		want := JWTAccessClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Subject: v.sub, ID: b64.EncodeToString(v.jti),
				ExpiresAt: jwt.NewNumericDate(time.Unix(v.exp, 0)), IssuedAt: jwt.NewNumericDate(time.Unix(v.iat, 0)),
			},
			ClientID: v.clientID, Scope: v.scope, AuthTime: jwt.NewNumericDate(time.Unix(v.authTime, 0)),
		}
		if g.iss != nil {
			want.Issuer, want.Audience = "https://as", jwt.ClaimStrings{"a", "b"}
		} else {
			want.Audience = jwt.ClaimStrings{v.clientID}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	}
}

func first[A, B any](a A, _ B) A { return a }

// BenchmarkClaimsEncoding compares the hand-built claims with encoding/json
// on the same struct, the reason appendClaims exists.
func BenchmarkClaimsEncoding(b *testing.B) {
	g, _ := newJWTAccessGenerate([]JWTOption{WithIssuer("https://as.example.com"), WithAudience("https://rs.example.com")})
	v := claimValues{sub: "user-1", clientID: "client-1", scope: "read write", exp: 1700003600, iat: 1700000000, jti: make([]byte, jtiBytes)}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf = g.appendClaims(buf[:0], &v)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := JWTAccessClaims{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: "https://as.example.com", Subject: v.sub, Audience: jwt.ClaimStrings{"https://rs.example.com"},
					ExpiresAt: jwt.NewNumericDate(time.Unix(v.exp, 0)), IssuedAt: jwt.NewNumericDate(time.Unix(v.iat, 0)),
					ID: b64.EncodeToString(v.jti),
				},
				ClientID: v.clientID, Scope: v.scope,
			}
			if _, err := json.Marshal(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
