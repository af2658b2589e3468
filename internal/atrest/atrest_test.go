package atrest

import (
	"bytes"
	"errors"
	"testing"
)

const (
	secretA = "secret-A-0123456789abcdefghijklmnopqrstuv"
	secretB = "secret-B-0123456789abcdefghijklmnopqrstuv"
)

func mustNew(t testing.TB, current string, old ...string) *Keyring {
	t.Helper()
	k, err := New(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyring_SealsBoundToTheNameAndOpensOnlyWithItsSecret(t *testing.T) {
	a := mustNew(t, secretA)
	plain := []byte("-----BEGIN PRIVATE KEY-----\nsecret material\n")
	sealed := a.Seal("oauth2d/signing-key/current", plain)
	if !IsSealed(sealed) || bytes.Contains(sealed, []byte("secret material")) {
		t.Fatal("the sealed value shows its plaintext")
	}
	if got, cur, err := a.Open("oauth2d/signing-key/current", sealed); err != nil || !cur || !bytes.Equal(got, plain) {
		t.Fatalf("Open: %q %v %v", got, cur, err)
	}
	if bytes.Equal(sealed, a.Seal("oauth2d/signing-key/current", plain)) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	tests := []struct {
		name  string
		k     *Keyring
		key   string
		value []byte
		want  error
	}{
		{"another secret", mustNew(t, secretB), "oauth2d/signing-key/current", sealed, ErrUnknownSecret},
		{"moved to another name", a, "oauth2d/web/hmac-key", sealed, ErrCorrupt},
		{"altered", a, "oauth2d/signing-key/current", append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), ErrCorrupt},
		{"truncated", a, "oauth2d/signing-key/current", sealed[:overhead-1], ErrCorrupt},
		{"in the clear", a, "oauth2d/signing-key/current", plain, ErrCorrupt},
	}
	for _, tt := range tests {
		if _, _, err := tt.k.Open(tt.key, tt.value); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestKeyring_FormerSecretsOpenButNeverSeal(t *testing.T) {
	sealedA := mustNew(t, secretA).Seal("n", []byte("v"))
	rotating := mustNew(t, secretB, secretA)
	got, cur, err := rotating.Open("n", sealedA)
	if err != nil || cur || string(got) != "v" {
		t.Fatalf("a value of the former secret: %q current=%v %v", got, cur, err)
	}
	resealed := rotating.Seal("n", got)
	if _, _, err := mustNew(t, secretA).Open("n", resealed); !errors.Is(err, ErrUnknownSecret) {
		t.Fatal("the keyring sealed with its former secret")
	}
	if _, cur, err := mustNew(t, secretB).Open("n", resealed); err != nil || !cur {
		t.Fatalf("the new secret alone: %v %v", cur, err)
	}
}

func TestNew_RefusesShortSecrets(t *testing.T) {
	if _, err := New("short"); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("short current secret: %v", err)
	}
	if _, err := New(secretA, "short"); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("short former secret: %v", err)
	}
	if s := GenerateSecret(); len(s) < MinSecretLen {
		t.Fatalf("a generated secret is too short: %d", len(s))
	}
}

// FuzzOpen_NeverAcceptsWhatWasNotSealed opens arbitrary bytes: never a
// panic, and never a plaintext but the one sealed, under its name (the
// seeds hold a value sealed by the process that made the corpus, with the
// same secret).
func FuzzOpen_NeverAcceptsWhatWasNotSealed(f *testing.F) {
	k := mustNew(f, secretA)
	good := k.Seal("n", []byte("plain"))
	f.Add(good, "n")
	f.Add(good, "m")
	f.Add([]byte("O2DSEAL1"), "n")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, v []byte, name string) {
		p, _, err := k.Open(name, v)
		if err == nil && (name != "n" || string(p) != "plain") {
			t.Fatalf("Open accepted %x under %q", v, name)
		}
	})
}
