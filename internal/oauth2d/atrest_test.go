package oauth2d

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
	"github.com/oauth2d/oauth2/store"
)

const (
	secretOne = "first-at-rest-secret-0123456789abcdefghij"
	secretTwo = "second-at-rest-secret-0123456789abcdefghi"
)

// hmacKeyName is the pages' HMAC key in the KVStore (internal/web).
const hmacKeyName = "oauth2d/web/hmac-key"

func sharedStore(t *testing.T) (oauth2.TokenStore, oauth2.KVStore) {
	t.Helper()
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	return ts, ts.(oauth2.KVStore)
}

// newApp makes an App of cfg on ts with the at-rest secrets given.
func newApp(ts oauth2.TokenStore, secret string, old ...string) (*App, error) {
	cfg := testConfig(testRedirect)
	cfg.TokenStore = ts
	cfg.Secret, cfg.OldSecrets = secret, old
	cfg.Logger = slog.New(slog.DiscardHandler)
	return New(cfg)
}

func raw(t *testing.T, kv oauth2.KVStore, name string) []byte {
	t.Helper()
	v, err := kv.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return v
}

func kidOf(t *testing.T, a *App) string {
	t.Helper()
	k, ok := a.Keys().Current()
	if !ok {
		t.Fatal("no current signing key")
	}
	return k.KeyID
}

func TestKeys_PrivateKeysAreEncryptedInTheStore(t *testing.T) {
	ts, kv := sharedStore(t)
	a, err := newApp(ts, secretOne)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ring, _ := atrest.New(secretOne)
	for _, name := range []string{keySetName, hmacKeyName, pairwiseSecretName} {
		v := raw(t, kv, name)
		if !atrest.IsSealed(v) || bytes.Contains(v, []byte("PRIVATE KEY")) {
			t.Fatalf("%s is kept in the clear", name)
		}
		if _, current, err := ring.Open(name, v); err != nil || !current {
			t.Fatalf("%s does not open with the secret: %v", name, err)
		}
	}
}

func TestKeys_KeysKeptInTheClearAreEncryptedInPlace(t *testing.T) {
	ts, kv := sharedStore(t)
	ctx := context.Background()
	// What an earlier version stored: the PEM key and the raw HMAC key.
	key, err := generates.GenerateSigningKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := generates.MarshalPrivateKeyPEM(key)
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	if err := kv.Put(ctx, signingKeyName, pem, 0); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, hmacKeyName, hmacKey, 0); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ts, secretOne)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ring, _ := atrest.New(secretOne)
	for name, plain := range map[string][]byte{signingKeyName: pem, hmacKeyName: hmacKey} {
		v := raw(t, kv, name)
		got, _, err := ring.Open(name, v)
		if !atrest.IsSealed(v) || err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s was not encrypted in place, or changed: %v", name, err)
		}
	}
	// The App signs with the key the earlier version made.
	signer, err := generates.ParsePrivateKeyPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	old := generates.NewKeySet()
	if err := old.Add(generates.SigningKey{Method: jwt.SigningMethodRS256, Key: signer}, true); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := old.Current()
	if kidOf(t, a) != oldKey.KeyID {
		t.Fatal("the App made a new signing key instead of keeping the stored one")
	}
}

func TestKeys_WrongSecretStopsStartupAndChangesNothing(t *testing.T) {
	ts, kv := sharedStore(t)
	first, err := newApp(ts, secretOne)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	before := map[string][]byte{keySetName: raw(t, kv, keySetName), hmacKeyName: raw(t, kv, hmacKeyName),
		pairwiseSecretName: raw(t, kv, pairwiseSecretName)}
	_, err = newApp(ts, secretTwo)
	var wrong *errWrongSecret
	if !errors.As(err, &wrong) || !strings.Contains(err.Error(), "encrypted with another secret") ||
		!strings.Contains(err.Error(), EnvSecretOld) || strings.Contains(err.Error(), secretTwo) {
		t.Fatalf("start-up with another secret: %v", err)
	}
	for name, v := range before {
		if !bytes.Equal(raw(t, kv, name), v) {
			t.Fatalf("%s was changed by the refused start-up", name)
		}
	}
}

func TestKeys_SecretRotationKeepsTheKeys(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, ts oauth2.TokenStore) (*App, error)
	}{
		{"OAUTH2D_SECRET with OAUTH2D_SECRET_OLD", func(_ *testing.T, ts oauth2.TokenStore) (*App, error) {
			return newApp(ts, secretTwo, secretOne)
		}},
		{"secret_file with the former secret on its second line", func(t *testing.T, ts oauth2.TokenStore) (*App, error) {
			path := filepath.Join(t.TempDir(), "oauth2d.secret")
			if err := os.WriteFile(path, []byte("# new first\n"+secretTwo+"\n"+secretOne+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(testRedirect)
			cfg.TokenStore, cfg.SecretFile = ts, path
			cfg.Logger = slog.New(slog.DiscardHandler)
			return New(cfg)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, kv := sharedStore(t)
			before, err := newApp(ts, secretOne)
			if err != nil {
				t.Fatal(err)
			}
			kid := kidOf(t, before)
			before.Close()
			during, err := tt.rotate(t, ts)
			if err != nil {
				t.Fatalf("start with the new and the former secret: %v", err)
			}
			if kidOf(t, during) != kid {
				t.Fatal("the rotation changed the signing key")
			}
			during.Close()
			ring, _ := atrest.New(secretTwo)
			for _, name := range []string{keySetName, hmacKeyName, pairwiseSecretName} {
				if _, current, err := ring.Open(name, raw(t, kv, name)); err != nil || !current {
					t.Fatalf("%s is not encrypted with the new secret: %v", name, err)
				}
			}
			after, err := newApp(ts, secretTwo)
			if err != nil {
				t.Fatalf("the new secret alone: %v", err)
			}
			if kidOf(t, after) != kid {
				t.Fatal("the signing key changed")
			}
			after.Close()
			if _, err := newApp(ts, secretOne); !errors.As(err, new(*errWrongSecret)) {
				t.Fatalf("the former secret alone after the rotation: %v", err)
			}
		})
	}
}

func TestConfig_SharedStoreWithoutASecretIsRefused(t *testing.T) {
	for _, store := range []string{"postgres://u@db.example/oauth2d", "mysql://u@db.example/oauth2d", "redis://cache.example:6379/0"} {
		cfg := Default()
		cfg.Store = store
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "secret_file: required with a store that several processes share") ||
			!strings.Contains(err.Error(), EnvSecret) {
			t.Errorf("%s without a secret: %v", store, err)
		}
		cfg.ApplyEnv(func(k string) (string, bool) { return map[string]string{EnvSecret: secretOne}[k], k == EnvSecret })
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s with %s: %v", store, EnvSecret, err)
		}
	}
	cfg := Default()
	cfg.Secret = "too short"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), EnvSecret+": must be at least 32 characters") || strings.Contains(err.Error(), "too short") {
		t.Fatalf("a short secret: %v", err)
	}
}

// runMain runs the command until it serves, stops it, and returns its
// exit status and log; or those of its exit when it does not start.
func runMain(t *testing.T, env map[string]string) (code int, logs string) {
	t.Helper()
	stderr := &syncBuffer{}
	signals := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- Main(Env{
			Args: []string{"-log-format", "json"}, Stdout: io.Discard, Stderr: stderr,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Signals:   signals, Ready: ready,
		})
	}()
	select {
	case <-ready:
		signals <- syscall.SIGTERM
		return <-done, stderr.String()
	case code := <-done:
		return code, stderr.String()
	case <-time.After(60 * time.Second):
		t.Fatal("the command neither served nor exited")
	}
	return 0, ""
}

var kidInLog = regexp.MustCompile(`"msg":"signing key loaded","kid":"([^"]+)"`)

func TestMain_SQLiteWithoutASecretGeneratesOneBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{EnvListen: "127.0.0.1:0", EnvStore: "sqlite:" + filepath.Join(dir, "oauth2d.db")}
	code, logs := runMain(t, env)
	if code != 0 {
		t.Fatalf("first start: exit %d\n%s", code, logs)
	}
	path := filepath.Join(dir, "oauth2d.secret")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v; want 0600", err, info)
	}
	if !strings.Contains(logs, `"secret_file":"`+path+`"`) {
		t.Fatalf("the log does not say where the secret is:\n%s", logs)
	}
	secret, _, err := readSecretFile(path)
	if err != nil || strings.Contains(logs, secret) {
		t.Fatalf("the secret file %v, or the log holds the secret", err)
	}
	first := kidInLog.FindStringSubmatch(logs)
	code, logs = runMain(t, env)
	second := kidInLog.FindStringSubmatch(logs)
	if code != 0 || first == nil || second == nil || first[1] != second[1] {
		t.Fatalf("restart: exit %d, kid %v then %v\n%s", code, first, second, logs)
	}
}

func TestMain_WrongSecretStopsStartup(t *testing.T) {
	env := map[string]string{EnvListen: "127.0.0.1:0", EnvStore: "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db"), EnvSecret: secretOne}
	if code, logs := runMain(t, env); code != 0 {
		t.Fatalf("first start: exit %d\n%s", code, logs)
	}
	env[EnvSecret] = secretTwo
	code, logs := runMain(t, env)
	if code != 1 || !strings.Contains(logs, "encrypted with another secret") || strings.Contains(logs, secretTwo) || strings.Contains(logs, secretOne) {
		t.Fatalf("a wrong %s: exit %d\n%s", EnvSecret, code, logs)
	}
	// Rotating: the new secret with the old one accepted, then alone.
	env[EnvSecretOld] = secretOne
	if code, logs := runMain(t, env); code != 0 {
		t.Fatalf("rotation: exit %d\n%s", code, logs)
	}
	delete(env, EnvSecretOld)
	if code, logs := runMain(t, env); code != 0 {
		t.Fatalf("the new secret alone: exit %d\n%s", code, logs)
	}
}

// The key of the DPoP nonces (RFC 9449 8) is sealed with the at-rest secret
// like the other secrets, and the library's own clear copy is never made.
func TestKeys_DPoPNonceKeyIsEncryptedInTheStore(t *testing.T) {
	ts, kv := sharedStore(t)
	cfg := testConfig(testRedirect)
	cfg.TokenStore = ts
	cfg.Secret = secretOne
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.DPoP.RequireNonce = true
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.server.DPoPVerifier(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := raw(t, kv, dpopNonceKeyName)
	ring, _ := atrest.New(secretOne)
	if _, _, err := ring.Open(dpopNonceKeyName, v); !atrest.IsSealed(v) || err != nil {
		t.Fatalf("the DPoP nonce key is not sealed with the secret: %v", err)
	}
	if _, err := kv.Get(context.Background(), "oauth2/dpop/nonce-key"); err == nil {
		t.Fatal("the library's clear nonce key was stored")
	}
}
