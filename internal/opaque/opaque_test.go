package opaque

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/opaque/opaquetest"
)

// decode splits a time-ordered value, made at any time, into its time
// bytes and random bytes.
func decode(t *testing.T, v string) (tm, random []byte) {
	t.Helper()
	return opaquetest.Decode(t, v, time.UnixMilli(0), time.UnixMilli(1<<48-1))
}

func TestNew_IsTheIssueTimeADotAnd256RandomBits(t *testing.T) {
	at := time.UnixMilli(1_765_000_000_123)
	for _, v := range []string{New(at), first(NewPair(at)), second(NewPair(at))} {
		tm, _ := decode(t, v)
		want := []byte{0x01, 0x9a, 0xf2, 0x32, 0xb2, 0x7b} // 1765000000123 in 48 bits, big-endian
		if !bytes.Equal(tm, want) {
			t.Fatalf("time bytes %x, want %x", tm, want)
		}
	}
}

func TestNewPair_GivesTwoDifferentValues(t *testing.T) {
	for range 100 {
		a, b := NewPair(time.Now())
		_, ra := decode(t, a)
		_, rb := decode(t, b)
		if a == b || bytes.Equal(ra[:16], rb[:16]) {
			t.Fatalf("pair %q, %q shares its random part", a, b)
		}
	}
}

// The point of the form: the key of a value made later sorts after the key
// of a value made earlier, so B-tree indexes grow at their right edge.
func TestKey_OfValuesMadeLaterSortsAfter(t *testing.T) {
	start := time.UnixMilli(1_765_000_000_000)
	var prev [KeyLen]byte
	// Steps of 1 ms, then larger steps that carry into every time byte.
	steps := []time.Duration{time.Millisecond, 255 * time.Millisecond, 65536 * time.Millisecond, 1 << 24 * time.Millisecond, 1 << 32 * time.Millisecond}
	at := start
	for i := range 400 {
		at = at.Add(steps[i%len(steps)])
		k := Key(New(at))
		if i > 0 && bytes.Compare(prev[:], k[:]) >= 0 {
			t.Fatalf("key of a value made at %v does not sort after the one before", at)
		}
		prev = k
	}
}

func TestKey_OfThisFormIsTheTimeThenTheDigest(t *testing.T) {
	v := New(time.UnixMilli(1_765_000_000_123))
	k := Key(v)
	h := sha256.Sum256([]byte(v))
	tm, random := decode(t, v)
	if !bytes.Equal(k[:6], tm) || !bytes.Equal(k[6:], h[:26]) {
		t.Fatalf("key %x, want time %x then digest %x", k, tm, h[:26])
	}
	if bytes.Contains(k[:], random[:4]) {
		t.Fatal("key holds random bytes of the value")
	}
}

// Values of any other form keep the SHA-256 key they had before this form
// existed: tokens stored by an earlier release are still found.
func TestKey_OfOtherValuesIsTheirSHA256(t *testing.T) {
	old := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, tc := range []struct{ name, value string }{
		{"empty", ""},
		{"43-character value of an earlier release", old},
		{"JWT", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"},
		{"one character short", New(time.Now())[:Len-1]},
		{"one character long", New(time.Now()) + "A"},
		{"52 base64url characters without the dot", strings.Replace(New(time.Now()), ".", "A", 1)},
		{"51 base64url characters of another generator", base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 38))},
		{"the dot elsewhere", New(time.Now())[1:9] + "A" + New(time.Now())[9:]},
		{"time characters outside base64url", "!!!!!!!!" + New(time.Now())[8:]},
		{"padding in the time characters", "AAAAAA==" + New(time.Now())[8:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := Key(tc.value), sha256.Sum256([]byte(tc.value)); got != want {
				t.Fatalf("Key = %x, want SHA-256 %x", got, want)
			}
		})
	}
}

func TestKey_DiffersForValuesOfOneMillisecond(t *testing.T) {
	at := time.Now()
	seen := make(map[[KeyLen]byte]bool)
	for range 10000 {
		k := Key(New(at))
		if seen[k] {
			t.Fatal("two values of one millisecond have one key")
		}
		seen[k] = true
	}
}

// FuzzKey: Key takes any presented token. It never panics, is
// deterministic, and is the SHA-256 unless the value has this package's
// form, in which case it holds the leading time and 26 digest bytes.
func FuzzKey(f *testing.F) {
	f.Add(New(time.Now()))
	f.Add("")
	f.Add(strings.Repeat("_", 8) + "." + strings.Repeat("_", 43))
	f.Add(strings.Repeat("A", 52))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, v string) {
		k := Key(v)
		if k != Key(v) {
			t.Fatal("Key is not deterministic")
		}
		h := sha256.Sum256([]byte(v))
		if k == h {
			return
		}
		if len(v) != 52 || v[8] != '.' {
			t.Fatalf("value %q, not of the time-ordered form, is not keyed by its SHA-256", v)
		}
		raw, err := base64.RawURLEncoding.DecodeString(v[:8])
		if err != nil || !bytes.Equal(k[:6], raw) || !bytes.Equal(k[6:], h[:26]) {
			t.Fatalf("key %x of %q is neither the SHA-256 nor the time then the digest", k, v)
		}
	})
}

func BenchmarkKey(b *testing.B) {
	v := New(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		_ = Key(v)
	}
}

func first(a, _ string) string  { return a }
func second(_, b string) string { return b }
