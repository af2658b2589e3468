package server

// User codes of the device authorization grant (RFC 8628 6.1): drawn from
// an alphabet without vowels or look-alike characters, typed by people,
// so read leniently (case, dashes and spaces ignored) but strictly bounded.

import (
	"crypto/rand"
	"strings"
)

// UserCodeAlphabet is the alphabet of user codes: the twenty consonants of
// RFC 8628 6.1, so that no code has a vowel (no words) or a character that
// reads as another (0/O, 1/I/L). A user code is eight of them, about 34.6
// bits, shown as XXXX-XXXX.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const (
	userCodeLen = 8
	// maxUserCodeInput bounds what LookupUserCode reads of its input.
	maxUserCodeInput = 64
)

// newUserCode draws a user code of userCodeLen characters, each uniform
// over UserCodeAlphabet (bytes at or above the largest multiple of its
// length are redrawn, so that no character is likelier than another).
func newUserCode() string {
	const n = len(UserCodeAlphabet)
	const limit = 256 - 256%n
	var out [userCodeLen]byte
	var buf [16]byte
	for i := 0; i < userCodeLen; {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[i] = UserCodeAlphabet[int(b)%n]
			if i++; i == userCodeLen {
				break
			}
		}
	}
	return string(out[:])
}

// NormalizeUserCode returns the user code a user typed in its canonical
// form: letters made upper case, dashes and white space dropped. ok is
// false unless the result is userCodeLen characters of UserCodeAlphabet
// (RFC 8628 6.1: a case-insensitive code, punctuation ignored). Input
// longer than 64 bytes is refused unread.
func NormalizeUserCode(in string) (code string, ok bool) {
	if len(in) > maxUserCodeInput {
		return "", false
	}
	var out [userCodeLen]byte
	n := 0
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == userCodeLen || strings.IndexByte(UserCodeAlphabet, c) < 0 {
			return "", false
		}
		out[n] = c
		n++
	}
	if n != userCodeLen {
		return "", false
	}
	return string(out[:]), true
}

// FormatUserCode shows a normalised user code as XXXX-XXXX (RFC 8628 6.1);
// any other input is returned as is.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}
