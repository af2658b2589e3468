// Package opaquetest checks the form of time-ordered codes and tokens for
// tests, from the form's description alone (internal/opaque), not from
// the code that makes them.
package opaquetest

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// Decode checks that v is a time-ordered value made between before and
// after (52 characters: a 48-bit issue time in Unix milliseconds as 8
// base64url characters, a '.', then 256 random bits as 43) and returns its
// 6 time bytes and 32 random bytes.
func Decode(t testing.TB, v string, before, after time.Time) (tm, random []byte) {
	t.Helper()
	ts, rs, ok := strings.Cut(v, ".")
	tm, err1 := base64.RawURLEncoding.Strict().DecodeString(ts)
	random, err2 := base64.RawURLEncoding.Strict().DecodeString(rs)
	if len(v) != 52 || !ok || err1 != nil || err2 != nil || len(tm) != 6 || len(random) != 32 {
		t.Fatalf("value %q is not 8 base64url characters of 6 bytes, a '.' and 43 of 32 bytes", v)
	}
	if at := Millis(tm); at < before.UnixMilli() || at > after.UnixMilli() {
		t.Fatalf("value's time %d is not the time it was made (%d to %d)", at, before.UnixMilli(), after.UnixMilli())
	}
	return tm, random
}

// Millis reads 6 big-endian time bytes as Unix milliseconds.
func Millis(tm []byte) int64 {
	var ms [8]byte
	copy(ms[2:], tm)
	return int64(binary.BigEndian.Uint64(ms[:]))
}
