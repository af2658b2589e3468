package oauth2d

import (
	"bytes"
	"context"
	"crypto/rand"
	stderrors "errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
	"github.com/oauth2d/oauth2/server"
)

// The signing keys (docs/architecture.md section 2.5, docs/config.md
// signing). Every process that shares the store signs with the same key
// set, kept in the store under keySetName: the keys with their private
// parts and their times (generates.EncodeKeys), sealed with the at-rest
// keyring. Which key signs is decided by the keys' times and the clock
// alone (generates.KeySet), so processes switch at the same moment without
// talking to each other; each reads the set again every KeyReloadInterval
// and shortly before a scheduled key starts signing, and a rotation
// schedules the new key far enough ahead (DefaultRotationDelay) for every
// process and every relying party that caches the JWK Set to have it by
// then (OpenID Connect Core 1.0 10.1.1). When signing.alg is not RS256 the
// RS256 key kept for the clients that ask for RS256 ID tokens (a
// generates.SigningKey marked Secondary) is rotated with it, at the same
// activation time.

// Names in the KVStore.
const (
	// keySetName is the sealed key set.
	keySetName = "oauth2d/signing-keys"
	// keyLockName serializes the changes of the key set: a rotation, a
	// first start, a change of signing.alg.
	keyLockName = "oauth2d/signing-keys/lock"
)

const (
	// DefaultKeyReloadInterval is how often a process reads the key set
	// from the store.
	DefaultKeyReloadInterval = 10 * time.Second
	// DefaultRotationDelay is how long after a rotation the new key
	// starts signing: the JWK Set's max-age (server.JWKSMaxAge), during
	// which relying parties may not refetch it, and a minute more for the
	// processes sharing the store to read the new set.
	DefaultRotationDelay = server.JWKSMaxAge + time.Minute
	// keyReloadLead is how long before a scheduled key starts signing a
	// process reads the key set once more.
	keyReloadLead = 2 * time.Second
	// retireMargin is added to the longest token lifetime before a
	// replaced key is unpublished, for clocks that differ.
	retireMargin = 5 * time.Minute
	keyLockTTL   = 30 * time.Second
	keyLockWait  = 15 * time.Second
)

// errKeyLockBusy: another process kept the key set's lock longer than
// keyLockWait.
var errKeyLockBusy = stderrors.New("oauth2d: another process is changing the signing keys; try again in a moment")

// keyStore reads and changes the key set kept in the store.
type keyStore struct {
	kv     oauth2.KVStore
	ring   *atrest.Keyring
	source string // where the at-rest secret came from, for messages
	log    *slog.Logger
	alg    string        // signing.alg
	retire time.Duration // how long a replaced key stays published
	now    func() time.Time

	mu   sync.Mutex
	last []byte // the sealed key set last loaded into the App's KeySet
}

// newKeyStore returns the key store of the App's configuration.
func (a *App) newKeyStore(ring *atrest.Keyring, source string) *keyStore {
	return &keyStore{kv: a.kv, ring: ring, source: source, log: a.log, alg: a.cfg.Signing.Alg,
		retire: retireAfter(a.cfg), now: a.now}
}

// retireAfter is how long a replaced key stays published: every token it
// signed must have expired by then, the longer of the access tokens (JWT
// access tokens are signed) and the ID tokens, and a margin.
func retireAfter(cfg Config) time.Duration {
	return max(cfg.AccessToken.TTL, generates.DefaultIDTokenLifetime) + retireMargin
}

// read returns the key set in the store: nil when there is none, and
// whether the current at-rest secret sealed it. It never writes.
func (s *keyStore) read(ctx context.Context) (keys []generates.SigningKey, raw []byte, current bool, err error) {
	raw, err = s.kv.Get(ctx, keySetName)
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		return nil, nil, true, nil
	case err != nil:
		return nil, nil, false, fmt.Errorf("oauth2d: read the signing keys: %w", err)
	}
	keys, current, err = s.open(raw)
	return keys, raw, current, err
}

// open decrypts and decodes a sealed key set.
func (s *keyStore) open(raw []byte) ([]generates.SigningKey, bool, error) {
	plain, current, err := s.ring.Open(keySetName, raw)
	switch {
	case stderrors.Is(err, atrest.ErrUnknownSecret):
		return nil, false, &errWrongSecret{what: "signing key set", source: s.source}
	case err != nil:
		return nil, false, fmt.Errorf("oauth2d: the signing keys in the store are damaged: %w", err)
	}
	keys, err := generates.DecodeKeys(plain)
	if err != nil {
		return nil, false, fmt.Errorf("oauth2d: the signing keys in the store are damaged: %w", err)
	}
	return keys, current, nil
}

// legacy returns the one signing key an earlier version kept
// (signingKeyName) as a key set, nil when the store has none.
func (s *keyStore) legacy(ctx context.Context) ([]generates.SigningKey, error) {
	pemBytes, err := openSealed(ctx, s.kv, s.ring, signingKeyName, "signing key", s.source, isPEM, s.log)
	if err != nil || pemBytes == nil {
		return nil, err
	}
	signer, err := generates.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: signing key in the store: %w", err)
	}
	// Earlier versions signed with RS256 only.
	return []generates.SigningKey{{Method: jwt.SigningMethodRS256, Key: signer, NotBefore: s.now()}}, nil
}

// write seals and stores keys.
func (s *keyStore) write(ctx context.Context, keys []generates.SigningKey) error {
	plain, err := generates.EncodeKeys(keys)
	if err != nil {
		return fmt.Errorf("oauth2d: encode the signing keys: %w", err)
	}
	if err := s.kv.Put(ctx, keySetName, s.ring.Seal(keySetName, plain), 0); err != nil {
		return fmt.Errorf("oauth2d: store the signing keys: %w", err)
	}
	return nil
}

// locked runs fn holding the key set's lock, a KVStore entry that every
// process sharing the store sees; it waits up to keyLockWait for a lock
// another process holds.
func (s *keyStore) locked(ctx context.Context, fn func() error) error {
	var token [16]byte
	_, _ = rand.Read(token[:])
	deadline := time.Now().Add(keyLockWait)
	for {
		ok, err := s.kv.PutIfAbsent(ctx, keyLockName, token[:], keyLockTTL)
		if err != nil {
			return fmt.Errorf("oauth2d: lock the signing keys: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return errKeyLockBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer func() {
		if v, err := s.kv.Get(context.WithoutCancel(ctx), keyLockName); err == nil && bytes.Equal(v, token[:]) {
			_ = s.kv.Delete(context.WithoutCancel(ctx), keyLockName)
		}
	}()
	return fn()
}

// generateKey generates a key of alg.
func generateKey(alg string) (generates.SigningKey, error) {
	key, err := generates.GenerateSigningKey(alg)
	if err != nil {
		return generates.SigningKey{}, fmt.Errorf("oauth2d: generate a %s signing key: %w", alg, err)
	}
	return generates.SigningKey{Method: jwt.GetSigningMethod(alg), Key: key}, nil
}

// keySet returns a KeySet of keys on the store's clock.
func (s *keyStore) keySet(keys []generates.SigningKey) (*generates.KeySet, error) {
	ks := generates.NewKeySet()
	ks.SetClock(s.now)
	if err := ks.Load(keys); err != nil {
		return nil, fmt.Errorf("oauth2d: the signing keys in the store: %w", err)
	}
	return ks, nil
}

// complete makes keys a key set the configuration can serve with: a
// current key (generated on first start); when the current key is not of
// signing.alg and no key of it is scheduled, a key of signing.alg that
// starts signing after DefaultRotationDelay; when signing.alg is not
// RS256, an RS256 key kept beside it for the clients that ask for RS256
// ID tokens (OpenID Connect Core 1.0 15.1); and no key that every token
// it signed has outlived. It reports whether it changed anything.
func (s *keyStore) complete(keys []generates.SigningKey) ([]generates.SigningKey, bool, error) {
	ks, err := s.keySet(keys)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	changed := false
	cur, ok := ks.Current()
	switch {
	case !ok:
		k, err := generateKey(s.alg)
		if err != nil {
			return nil, false, err
		}
		if err := ks.Add(k, true); err != nil {
			return nil, false, err
		}
		s.log.Info("generated a new signing key and saved it, encrypted, in the store", "alg", s.alg)
		changed = true
	case cur.Method.Alg() != s.alg && !scheduled(ks.Keys(), s.alg, now):
		k, err := generateKey(s.alg)
		if err != nil {
			return nil, false, err
		}
		at := now.Add(DefaultRotationDelay)
		if err := ks.Schedule(k, at, s.retire); err != nil {
			return nil, false, fmt.Errorf("oauth2d: schedule a %s signing key: %w", s.alg, err)
		}
		s.log.Info("signing.alg changed: a key of the new algorithm is published now and signs from its activation", "alg", s.alg, "activates_at", at)
		changed = true
	}
	if s.alg != "RS256" && !hasRS256ForClients(ks.Keys()) {
		k, err := generateKey("RS256")
		if err != nil {
			return nil, false, err
		}
		k.Secondary = true
		if err := ks.Add(k, false); err != nil {
			return nil, false, err
		}
		s.log.Info("generated an RS256 key kept beside the signing key for the clients that ask for RS256 ID tokens")
		changed = true
	}
	if removed := ks.Prune(now); len(removed) > 0 {
		s.log.Info("removed signing keys whose tokens have all expired", "kids", removed)
		changed = true
	}
	return ks.Keys(), changed, nil
}

// complete0 reports whether complete would leave keys as they are, without
// generating anything.
func (s *keyStore) complete0(keys []generates.SigningKey) bool {
	ks, err := s.keySet(keys)
	if err != nil {
		return false
	}
	now := s.now()
	cur, ok := ks.Current()
	switch {
	case !ok:
		return false
	case cur.Method.Alg() != s.alg && !scheduled(keys, s.alg, now):
		return false
	case s.alg != "RS256" && !hasRS256ForClients(keys):
		return false
	}
	return !slices.ContainsFunc(keys, func(k generates.SigningKey) bool {
		return k.KeyID != cur.KeyID && !k.NotAfter.IsZero() && !k.NotAfter.After(now)
	})
}

// scheduled reports whether a key of alg is scheduled to become the
// current key after now.
func scheduled(keys []generates.SigningKey, alg string, now time.Time) bool {
	return slices.ContainsFunc(keys, func(k generates.SigningKey) bool {
		return !k.Secondary && k.Method.Alg() == alg && k.NotBefore.After(now)
	})
}

// hasRS256ForClients reports whether keys hold an RS256 key that signs, or
// is scheduled to sign, the ID tokens of the clients that ask for RS256
// and that no rotation has replaced: a Secondary key without NotAfter, or
// a key with neither NotBefore nor NotAfter (as stored before Secondary
// existed).
func hasRS256ForClients(keys []generates.SigningKey) bool {
	return slices.ContainsFunc(keys, isRS256ForClients)
}

func isRS256ForClients(k generates.SigningKey) bool {
	return k.Method.Alg() == "RS256" && k.NotAfter.IsZero() && (k.Secondary || k.NotBefore.IsZero())
}

// ensure returns the key set of the store, completed (complete) and
// sealed with the current secret, changing the store only when needed and
// then under the lock. A store that only has the key of an earlier
// version gets a key set of it. A store whose keys the secret cannot
// decrypt is an error, and nothing is changed.
func (s *keyStore) ensure(ctx context.Context) ([]generates.SigningKey, error) {
	keys, raw, current, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if raw != nil && current && s.complete0(keys) {
		return keys, nil
	}
	var out []generates.SigningKey
	err = s.locked(ctx, func() error {
		keys, raw, current, err := s.read(ctx)
		if err != nil {
			return err
		}
		if raw == nil {
			if keys, err = s.legacy(ctx); err != nil {
				return err
			}
		}
		next, changed, err := s.complete(keys)
		if err != nil {
			return err
		}
		if changed || raw == nil || !current {
			if err := s.write(ctx, next); err != nil {
				return err
			}
			if raw != nil && !current {
				s.log.Info("encrypted the signing key set with the new secret; the former one is no longer needed once every process runs with the new one")
			}
		}
		out = next
		return nil
	})
	return out, err
}

// load returns the App's key set: the store's, completed.
func (s *keyStore) load(ctx context.Context) (*generates.KeySet, error) {
	keys, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	ks, err := s.keySet(keys)
	if err != nil {
		return nil, err
	}
	cur, ok := ks.Current()
	if !ok {
		return nil, stderrors.New("oauth2d: the key set in the store has no current signing key")
	}
	// What reload compares with from now on: the set as stored, which
	// another process may have changed since ensure read it.
	if _, err := s.reload(ctx, ks); err != nil {
		return nil, err
	}
	if cur, ok = ks.Current(); !ok {
		return nil, stderrors.New("oauth2d: the key set in the store has no current signing key")
	}
	s.log.Info("signing key loaded", "kid", cur.KeyID, "alg", cur.Method.Alg())
	return ks, nil
}

// reload loads the key set of the store into ks when it changed since the
// last reload, and reports whether it did. It never writes to the store.
func (s *keyStore) reload(ctx context.Context, ks *generates.KeySet) (bool, error) {
	raw, err := s.kv.Get(ctx, keySetName)
	if err != nil {
		return false, fmt.Errorf("oauth2d: read the signing keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(raw, s.last) {
		return false, nil
	}
	keys, _, err := s.open(raw)
	if err != nil {
		return false, err
	}
	if err := ks.Load(keys); err != nil {
		return false, fmt.Errorf("oauth2d: the signing keys in the store: %w", err)
	}
	s.last = raw
	return true, nil
}

// KeyRotation describes a rotation of the signing key (App.RotateKeys).
type KeyRotation struct {
	// KeyID and Algorithm are the new key's kid and JWS algorithm.
	KeyID     string
	Algorithm string
	// ActivatesAt is when the new key starts signing. It is published
	// at once, at the jwks_uri of every process.
	ActivatesAt time.Time
	// Replaces is the kid of the key it replaces, and ReplacedUntil when
	// that key is unpublished: every token it signed has expired then.
	Replaces      string
	ReplacedUntil time.Time
	// ForClients is the rotation of the RS256 key kept for the clients
	// that ask for RS256 ID tokens (id_token_signed_response_alg, OpenID
	// Connect Core 1.0 15.1) when signing.alg is not RS256: its new key
	// signs their ID tokens from the same ActivatesAt, and the key it
	// replaces until then. Nil when signing.alg is RS256.
	ForClients *KeyRotation
}

// rotationOf describes the change from before to after of a rotation
// whose new key activates at at: the key after adds, and the key whose
// NotAfter it set.
func rotationOf(before, after []generates.SigningKey, at time.Time) KeyRotation {
	out := KeyRotation{ActivatesAt: at}
	was := make(map[string]generates.SigningKey, len(before))
	for _, k := range before {
		was[k.KeyID] = k
	}
	for _, k := range after {
		o, ok := was[k.KeyID]
		switch {
		case !ok:
			out.KeyID, out.Algorithm = k.KeyID, k.Method.Alg()
		case !k.NotAfter.Equal(o.NotAfter):
			out.Replaces, out.ReplacedUntil = k.KeyID, k.NotAfter
		}
	}
	return out
}

// rotate schedules a new key of signing.alg to start signing after delay,
// and, when signing.alg is not RS256, a new RS256 key to start signing the
// ID tokens of the clients that ask for RS256 at the same time.
func (s *keyStore) rotate(ctx context.Context, delay time.Duration) (KeyRotation, error) {
	if delay < 0 {
		return KeyRotation{}, stderrors.New("oauth2d: the rotation delay cannot be negative")
	}
	var out KeyRotation
	err := s.locked(ctx, func() error {
		keys, raw, _, err := s.read(ctx)
		if err != nil {
			return err
		}
		if raw == nil {
			if keys, err = s.legacy(ctx); err != nil {
				return err
			}
		}
		if keys, _, err = s.complete(keys); err != nil {
			return err
		}
		ks, err := s.keySet(keys)
		if err != nil {
			return err
		}
		k, err := generateKey(s.alg)
		if err != nil {
			return err
		}
		at := s.now().Add(delay)
		var forClients *KeyRotation
		if s.alg != "RS256" {
			// The RS256 key for the clients first: an earlier version
			// reading the set, which takes a Secondary key for one that
			// may become current, then still sees the key of
			// signing.alg, added last, win the tie at at.
			rk, err := generateKey("RS256")
			if err != nil {
				return err
			}
			before := ks.Keys()
			if err := ks.ScheduleSecondary(rk, at, s.retire); err != nil {
				return fmt.Errorf("oauth2d: schedule the new RS256 key for the clients that ask for RS256 ID tokens (a key scheduled later must start signing first): %w", err)
			}
			r := rotationOf(before, ks.Keys(), at)
			forClients = &r
		}
		before := ks.Keys()
		if err := ks.Schedule(k, at, s.retire); err != nil {
			return fmt.Errorf("oauth2d: schedule the new signing key (a key scheduled later must become current first): %w", err)
		}
		out = rotationOf(before, ks.Keys(), at)
		out.ForClients = forClients
		ks.Prune(s.now())
		return s.write(ctx, ks.Keys())
	})
	if err != nil {
		return KeyRotation{}, err
	}
	s.log.Info("signing key rotation scheduled", "kid", out.KeyID, "alg", out.Algorithm,
		"activates_at", out.ActivatesAt, "replaces", out.Replaces, "replaced_until", out.ReplacedUntil)
	if r := out.ForClients; r != nil {
		s.log.Info("rotation of the RS256 key for the clients that ask for RS256 ID tokens scheduled", "kid", r.KeyID,
			"activates_at", r.ActivatesAt, "replaces", r.Replaces, "replaced_until", r.ReplacedUntil)
	}
	return out, nil
}

// RotateKeys rotates the server's signing key (docs/config.md, signing;
// OpenID Connect Core 1.0 10.1.1): a new key of signing.alg is published
// at once and starts signing after delay; the key it replaces keeps
// signing until then and stays published until every token it signed has
// expired (the longer of the access token and ID token lifetimes, and a
// margin). When signing.alg is not RS256, the RS256 key kept for the
// clients that ask for RS256 ID tokens is rotated the same way, with the
// same activation time (KeyRotation.ForClients). Every process sharing
// the store picks the new key set up within its key reload interval and
// switches at the activation time. A delay under DefaultRotationDelay (the JWK Set's
// max-age and a minute) lets relying parties that cached the JWK Set meet
// tokens of a key they do not know yet; 0 replaces a compromised key at
// once. The admin API calls this method.
func (a *App) RotateKeys(ctx context.Context, delay time.Duration) (KeyRotation, error) {
	r, err := a.keyStore.rotate(ctx, delay)
	if err != nil {
		return KeyRotation{}, err
	}
	if _, err := a.keyStore.reload(ctx, a.keys); err != nil {
		// The rotation is stored: the reload loop will load it.
		a.log.Warn("signing keys: reload after the rotation", "err", err)
	}
	return r, nil
}

// reloadKeys reads the key set from the store every KeyReloadInterval, and
// shortly before a scheduled key starts signing, until the App closes.
func (a *App) reloadKeys() {
	interval := a.cfg.KeyReloadInterval
	if interval <= 0 {
		interval = DefaultKeyReloadInterval
	}
	failing := false
	for {
		wait := interval
		now := a.now()
		for _, k := range a.keys.Keys() {
			if d := k.NotBefore.Sub(now) - keyReloadLead; k.NotBefore.After(now) && d > 0 && d < wait {
				wait = d
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-a.stop:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		changed, err := a.keyStore.reload(ctx, a.keys)
		cancel()
		switch {
		case err != nil && !failing:
			a.log.Warn("signing keys: cannot read them from the store; keeping the ones loaded", "err", err)
			failing = true
		case err == nil:
			if failing {
				a.log.Info("signing keys: the store answers again")
			}
			failing = false
			if changed {
				a.log.Info("signing keys reloaded from the store", "kids", keyIDs(a.keys.Keys()))
			}
		}
	}
}

func keyIDs(keys []generates.SigningKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KeyID
	}
	return out
}

const keysUsage = `Usage:
  oauth2d keys rotate [-config FILE] [-delay D]   schedule a new signing key
  oauth2d keys list [-config FILE]                list the signing keys

rotate publishes a new key of signing.alg at once; it starts signing after
the delay (default %v: the JWK Set's max-age and a minute), and the key it
replaces stays published until every token it signed has expired. Every
oauth2d process sharing the store picks it up. It works on the store of the
configuration file (the built-in configuration without -config), with the
same at-rest secret (OAUTH2D_SECRET or secret_file).

Flags:
`

// keysCommand runs `oauth2d keys rotate|list`.
func keysCommand(env Env) int {
	args := env.Args[1:]
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintf(env.Stderr, keysUsage, DefaultRotationDelay)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("oauth2d keys "+verb, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, keysUsage, DefaultRotationDelay)
		fs.PrintDefaults()
	}
	configFile := fs.String("config", "", "the YAML configuration `file` whose store holds the keys")
	delay := fs.Duration("delay", DefaultRotationDelay, "how long after now the new key starts signing (rotate)")
	if err := fs.Parse(args[1:]); err != nil {
		if stderrors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "oauth2d keys %s: unexpected argument %q\n", verb, fs.Arg(0))
		return 2
	}
	cfg, err := loadFromEnv(env, *configFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "oauth2d: invalid configuration:\n%s\n", indent(err.Error()))
		return 1
	}
	if su, err := ParseStoreURL(cfg.Store); err == nil && su.Kind == StoreMemory {
		fmt.Fprintln(env.Stderr, "oauth2d keys: a memory store lives in the serving process only; use the admin API of that process")
		return 1
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	cfg.Logger = log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := &App{cfg: cfg, log: log, metrics: newMetrics(), stop: make(chan struct{}), now: time.Now}
	if err := a.openStore(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "oauth2d keys: %v\n", err)
		return 1
	}
	defer a.Close()
	ring, source, err := a.keyring()
	if err != nil {
		fmt.Fprintf(env.Stderr, "oauth2d keys: %v\n", err)
		return 1
	}
	ks := a.newKeyStore(ring, source)
	if verb == "list" {
		keys, err := ks.ensure(ctx)
		if err != nil {
			fmt.Fprintf(env.Stderr, "oauth2d keys: %v\n", err)
			return 1
		}
		printKeys(env, keys, time.Now())
		return 0
	}
	if *delay < DefaultRotationDelay {
		fmt.Fprintf(env.Stderr, "oauth2d keys rotate: warning: a delay under %v lets relying parties that cached the JWK Set (max-age %v) meet tokens of a key they do not have yet\n",
			DefaultRotationDelay, server.JWKSMaxAge)
	}
	r, err := ks.rotate(ctx, *delay)
	if err != nil {
		fmt.Fprintf(env.Stderr, "oauth2d keys rotate: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "new key %s (%s): published now, signs from %s\n", r.KeyID, r.Algorithm, r.ActivatesAt.UTC().Format(time.RFC3339))
	if r.Replaces != "" {
		fmt.Fprintf(env.Stdout, "key %s: signs until then, published until %s\n", r.Replaces, r.ReplacedUntil.UTC().Format(time.RFC3339))
	}
	if c := r.ForClients; c != nil {
		fmt.Fprintf(env.Stdout, "new key %s (%s) for the clients that ask for %s ID tokens: published now, signs them from %s\n",
			c.KeyID, c.Algorithm, c.Algorithm, c.ActivatesAt.UTC().Format(time.RFC3339))
		if c.Replaces != "" {
			fmt.Fprintf(env.Stdout, "key %s: signs them until then, published until %s\n", c.Replaces, c.ReplacedUntil.UTC().Format(time.RFC3339))
		}
	}
	return 0
}

// printKeys lists keys with their role at now.
func printKeys(env Env, keys []generates.SigningKey, now time.Time) {
	ks := generates.NewKeySet()
	ks.SetClock(func() time.Time { return now })
	_ = ks.Load(keys) // keys came from ensure, which loaded them
	cur, _ := ks.Current()
	for _, k := range keys {
		role := "retired"
		switch {
		case k.KeyID == cur.KeyID:
			role = "current"
		case k.Secondary && k.NotBefore.After(now):
			role = "scheduled for clients that ask for " + k.Method.Alg()
		case k.NotBefore.After(now):
			role = "scheduled"
		case k.Secondary && k.NotAfter.IsZero(),
			k.Secondary && k.NotAfter.After(now) && !replacedSecondary(keys, k, now),
			k.NotBefore.IsZero() && k.NotAfter.IsZero():
			role = "for clients that ask for " + k.Method.Alg()
		case k.NotAfter.After(now):
			role = "replaced, still published"
		}
		var times []string
		if !k.NotBefore.IsZero() {
			times = append(times, "signs from "+k.NotBefore.UTC().Format(time.RFC3339))
		}
		if !k.NotAfter.IsZero() {
			times = append(times, "published until "+k.NotAfter.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\n", k.KeyID, k.Method.Alg(), role, strings.Join(times, ", "))
	}
}

// replacedSecondary reports whether another Secondary key of k's
// algorithm has started signing after k did: k then signs nothing more.
func replacedSecondary(keys []generates.SigningKey, k generates.SigningKey, now time.Time) bool {
	return slices.ContainsFunc(keys, func(o generates.SigningKey) bool {
		return o.Secondary && o.KeyID != k.KeyID && o.Method.Alg() == k.Method.Alg() &&
			o.NotBefore.After(k.NotBefore) && !o.NotBefore.After(now) && (o.NotAfter.IsZero() || o.NotAfter.After(now))
	})
}
