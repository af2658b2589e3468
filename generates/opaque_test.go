package generates_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"math"
	"regexp"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/opaque/opaquetest"
)

var opaqueForm = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// decodeOpaque checks the form of an opaque value and returns its bytes.
func decodeOpaque(t *testing.T, v string) []byte {
	t.Helper()
	if !opaqueForm.MatchString(v) {
		t.Fatalf("value %q is not 43 base64url characters", v)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(raw) != 32 {
		t.Fatalf("value does not decode to 32 bytes: %d, %v", len(raw), err)
	}
	return raw
}

// opaqueSources are the ways this package makes a 256-bit opaque value.
var opaqueSources = []struct {
	name string
	make func(t *testing.T) string
}{
	{"authorization code", func(t *testing.T) string {
		code, err := generates.NewAuthorizeGenerate().Token(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}},
	{"access token", func(t *testing.T) string {
		access, refresh, err := generates.NewAccessGenerate().Token(context.Background(), nil, false)
		if err != nil || refresh != "" {
			t.Fatalf("refresh %q, err %v", refresh, err)
		}
		return access
	}},
	{"access token with refresh", func(t *testing.T) string {
		access, _, err := generates.NewAccessGenerate().Token(context.Background(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		return access
	}},
	{"refresh token", func(t *testing.T) string {
		_, refresh, err := generates.NewAccessGenerate().Token(context.Background(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		return refresh
	}},
	{"JWT generator refresh token", func(t *testing.T) string {
		g := generates.NewJWTAccessGenerate([]byte("00000000"), jwt.SigningMethodHS256)
		_, refresh, err := g.Token(context.Background(), grant("c", "u", "", 3600e9), true)
		if err != nil {
			t.Fatal(err)
		}
		return refresh
	}},
}

func TestOpaque_Are43Base64URLCharactersAndUnique(t *testing.T) {
	for _, src := range opaqueSources {
		t.Run(src.name, func(t *testing.T) {
			seen := make(map[string]bool)
			for range 2000 {
				v := src.make(t)
				decodeOpaque(t, v)
				if seen[v] {
					t.Fatalf("value repeated after %d values", len(seen))
				}
				seen[v] = true
			}
		})
	}
}

// Every one of the 256 bits must vary: over n values each bit is set about
// n/2 times. A constant or biased bit (a timestamp, a counter, a
// non-random prefix) falls far outside 6 standard deviations.
func TestOpaque_EveryBitVaries(t *testing.T) {
	const n = 4096
	const sigma = 32 // sqrt(n/4)
	for _, src := range opaqueSources {
		t.Run(src.name, func(t *testing.T) {
			var ones [256]int
			for range n {
				raw := decodeOpaque(t, src.make(t))
				for bit := range ones {
					if raw[bit/8]>>(bit%8)&1 == 1 {
						ones[bit]++
					}
				}
			}
			for bit, c := range ones {
				if c < n/2-6*sigma || c > n/2+6*sigma {
					t.Errorf("bit %d set in %d of %d values", bit, c, n)
				}
			}
		})
	}
}

// With crypto/rand made deterministic, the decoded values are exactly the
// bytes crypto/rand returns: all 256 bits of each come from it, in one read
// for an access and refresh token pair.
func TestOpaque_AllBitsComeFromCryptoRand(t *testing.T) {
	const seed = 20250101
	want := func(n int) []byte {
		cryptotest.SetGlobalRandom(t, seed)
		b := make([]byte, n)
		rand.Read(b)
		cryptotest.SetGlobalRandom(t, seed)
		return b
	}
	ctx := context.Background()

	t.Run("authorization code", func(t *testing.T) {
		w := want(32)
		code, _ := generates.NewAuthorizeGenerate().Token(ctx, nil)
		if got := decodeOpaque(t, code); !bytes.Equal(got, w) {
			t.Fatal("code is not the crypto/rand output")
		}
	})
	t.Run("access token", func(t *testing.T) {
		w := want(32)
		access, _, _ := generates.NewAccessGenerate().Token(ctx, nil, false)
		if got := decodeOpaque(t, access); !bytes.Equal(got, w) {
			t.Fatal("access token is not the crypto/rand output")
		}
	})
	t.Run("access and refresh token", func(t *testing.T) {
		w := want(64)
		access, refresh, _ := generates.NewAccessGenerate().Token(ctx, nil, true)
		if got := decodeOpaque(t, access); !bytes.Equal(got, w[:32]) {
			t.Fatal("access token is not the first 32 crypto/rand bytes")
		}
		if got := decodeOpaque(t, refresh); !bytes.Equal(got, w[32:]) {
			t.Fatal("refresh token is not the next 32 crypto/rand bytes")
		}
	})
	t.Run("JWT jti and refresh token", func(t *testing.T) {
		g := generates.NewJWTAccessGenerate([]byte("00000000"), jwt.SigningMethodHS256)
		w := want(48)
		access, refresh, err := g.Token(ctx, grant("c", "u", "", 3600e9), true)
		if err != nil {
			t.Fatal(err)
		}
		claims := &generates.JWTAccessClaims{}
		if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc([]byte("00000000"))); err != nil {
			t.Fatal(err)
		}
		if claims.ID != base64.RawURLEncoding.EncodeToString(w[:16]) {
			t.Fatal("jti is not the first 16 crypto/rand bytes")
		}
		if got := decodeOpaque(t, refresh); !bytes.Equal(got, w[16:]) {
			t.Fatal("refresh token is not the next 32 crypto/rand bytes")
		}
	})
}

// The access and refresh tokens of one call share a buffer; each must still
// be a whole, separate token.
func TestAccessGenerate_AccessAndRefreshAreDistinct(t *testing.T) {
	for range 100 {
		access, refresh, err := generates.NewAccessGenerate().Token(context.Background(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if access == refresh || bytes.Equal(decodeOpaque(t, access)[:16], decodeOpaque(t, refresh)[:16]) {
			t.Fatal("access and refresh token share their value")
		}
	}
}

// decodeTimeOrdered checks the form of a time-ordered value made between
// before and after and returns its random bytes.
func decodeTimeOrdered(t *testing.T, v string, before, after time.Time) []byte {
	t.Helper()
	_, random := opaquetest.Decode(t, v, before, after)
	return random
}

var timeOrderedSources = []struct {
	name string
	make func() []string
}{
	{"authorization code", func() []string {
		code, _ := generates.NewTimeOrderedAuthorizeGenerate().Token(context.Background(), nil)
		return []string{code}
	}},
	{"access token", func() []string {
		access, refresh, _ := generates.NewTimeOrderedAccessGenerate().Token(context.Background(), nil, false)
		if refresh != "" {
			return []string{access, "unexpected refresh token"}
		}
		return []string{access}
	}},
	{"access and refresh token", func() []string {
		access, refresh, _ := generates.NewTimeOrderedAccessGenerate().Token(context.Background(), nil, true)
		return []string{access, refresh}
	}},
}

// Time-ordered values lead with the time they were made and keep 256
// random bits, each of which varies, all from crypto/rand.
func TestTimeOrdered_AreLedByTheirTimeAndKeep256RandomBits(t *testing.T) {
	const n = 4096
	for _, src := range timeOrderedSources {
		t.Run(src.name, func(t *testing.T) {
			seen := make(map[string]bool)
			var ones [256]int
			for range n {
				before := time.Now()
				vs := src.make()
				after := time.Now()
				for _, v := range vs {
					raw := decodeTimeOrdered(t, v, before, after)
					if seen[v] {
						t.Fatal("value repeated")
					}
					seen[v] = true
					for bit := range ones {
						if raw[bit/8]>>(bit%8)&1 == 1 {
							ones[bit]++
						}
					}
				}
			}
			total := len(seen)
			sigma := int(math.Sqrt(float64(total) / 4))
			for bit, c := range ones {
				if c < total/2-6*sigma || c > total/2+6*sigma {
					t.Errorf("random bit %d set in %d of %d values", bit, c, total)
				}
			}
		})
	}
	t.Run("random bits come from crypto/rand", func(t *testing.T) {
		const seed = 20261206
		cryptotest.SetGlobalRandom(t, seed)
		w := make([]byte, 64)
		rand.Read(w)
		cryptotest.SetGlobalRandom(t, seed)
		access, refresh, _ := generates.NewTimeOrderedAccessGenerate().Token(context.Background(), nil, true)
		now := time.Now()
		if !bytes.Equal(decodeTimeOrdered(t, access, now.Add(-time.Minute), now), w[:32]) ||
			!bytes.Equal(decodeTimeOrdered(t, refresh, now.Add(-time.Minute), now), w[32:]) {
			t.Fatal("random parts are not the crypto/rand output")
		}
	})
}
