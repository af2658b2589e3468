package opaque

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestNew_IsLenBase64URLCharactersLedByTheIssueTime(t *testing.T) {
	at := time.UnixMilli(1_765_000_000_123)
	for _, v := range []string{New(at), first(NewPair(at)), second(NewPair(at))} {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
		if err != nil || len(v) != Len || len(raw) != rawLen {
			t.Fatalf("value %q: %d characters, %d bytes, %v; want %d characters, %d bytes", v, len(v), len(raw), err, Len, rawLen)
		}
		want := []byte{0x01, 0x9a, 0xf2, 0x32, 0xb2, 0x7b} // 1765000000123 in 48 bits, big-endian
		if !bytes.Equal(raw[:timeBytes], want) {
			t.Fatalf("time bytes %x, want %x", raw[:timeBytes], want)
		}
	}
}

func TestNewPair_GivesTwoDifferentValues(t *testing.T) {
	for range 100 {
		a, b := NewPair(time.Now())
		if a == b || a[timeChars:timeChars+20] == b[timeChars:timeChars+20] {
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
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	if !bytes.Equal(k[:timeBytes], raw[:timeBytes]) || !bytes.Equal(k[timeBytes:], h[:KeyLen-timeBytes]) {
		t.Fatalf("key %x, want time %x then digest %x", k, raw[:timeBytes], h[:KeyLen-timeBytes])
	}
	if bytes.Contains(k[:], raw[timeBytes:timeBytes+4]) {
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
		{"time characters outside base64url", "!!!!!!!!" + New(time.Now())[timeChars:]},
		{"padding in the time characters", "AAAAAA==" + New(time.Now())[timeChars:]},
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
	f.Add(strings.Repeat("_", Len))
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
		if len(v) != Len {
			t.Fatalf("value of %d characters is not keyed by its SHA-256", len(v))
		}
		raw, err := base64.RawURLEncoding.DecodeString(v[:timeChars])
		if err != nil || !bytes.Equal(k[:timeBytes], raw) || !bytes.Equal(k[timeBytes:], h[:KeyLen-timeBytes]) {
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
