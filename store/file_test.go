package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

func openFile(t *testing.T, path string, now func() time.Time) *store.FileTokenStore {
	t.Helper()
	s, err := store.OpenFileTokenStore(path, store.WithFileClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFileTokenStore_Conformance runs the storage contract's kit.
func TestFileTokenStore_Conformance(t *testing.T) {
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			return openFile(t, filepath.Join(t.TempDir(), "tokens.db"), now)
		},
	})
}

func fileKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// fileWorld is what a test wrote to a file store, to be checked after a
// restart.
type fileWorld struct {
	ctx                        context.Context
	live                       *models.Token // access and refresh, with extension data
	code                       *models.Token // exchanged into issued
	issued                     *models.Token
	rotated, successor         *models.Token
	revoked                    *models.Token
	removedAccess, removedRefr *models.Token
}

func (w *fileWorld) token(now time.Time, grant string) *models.Token {
	return &models.Token{
		ClientID: "c1", UserID: "u1", Scope: "read", GrantID: grant,
		Access: fileKey(), AccessCreateAt: now, AccessExpiresIn: time.Hour,
		Refresh: fileKey(), RefreshCreateAt: now, RefreshExpiresIn: 24 * time.Hour,
	}
}

func writeWorld(t *testing.T, s oauth2.TokenStore, now time.Time) *fileWorld {
	t.Helper()
	w := &fileWorld{ctx: context.Background()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.live = w.token(now, "g-live")
	w.live.Extension = url.Values{"nonce": {"n-0S6_WzA2Mj"}, "acr": {"urn:mace:incommon:iap:silver"}, "auth_time": {"1700000000"}}
	must(s.Create(w.ctx, w.live))

	w.code = &models.Token{
		ClientID: "c1", UserID: "u1", RedirectURI: "https://client.example/cb", Scope: "read write", GrantID: "g-code",
		Code: fileKey(), CodeCreateAt: now, CodeExpiresIn: 10 * time.Minute,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: oauth2.CodeChallengeS256,
		Extension: url.Values{"nonce": {"abc"}},
	}
	must(s.Create(w.ctx, w.code))
	w.issued = w.token(now, "g-code")
	w.issued.Extension = url.Values{"nonce": {"abc"}}
	must(s.ExchangeCode(w.ctx, w.code.Code, w.issued))

	w.rotated = w.token(now, "g-rot")
	must(s.Create(w.ctx, w.rotated))
	w.successor = w.token(now, "g-rot")
	must(s.RotateRefresh(w.ctx, w.rotated.Refresh, w.successor))

	w.revoked = w.token(now, "g-rev")
	must(s.Create(w.ctx, w.revoked))
	must(s.RevokeGrant(w.ctx, "g-rev"))

	w.removedAccess = w.token(now, "g-ra")
	must(s.Create(w.ctx, w.removedAccess))
	must(s.RemoveByAccess(w.ctx, w.removedAccess.Access))
	w.removedRefr = w.token(now, "g-rr")
	must(s.Create(w.ctx, w.removedRefr))
	must(s.RemoveByRefresh(w.ctx, w.removedRefr.Refresh))
	return w
}

func (w *fileWorld) check(t *testing.T, s oauth2.TokenStore) {
	t.Helper()
	found := func(get func(context.Context, string) (oauth2.TokenInfo, error), v string, want *models.Token) {
		t.Helper()
		ti, err := get(w.ctx, v)
		if err != nil {
			t.Fatalf("lookup of a live value: %v", err)
		}
		if ti.GetClientID() != want.ClientID || ti.GetScope() != want.Scope || ti.GetGrantID() != want.GrantID {
			t.Fatalf("record %+v, want %+v", ti, want)
		}
		got := ti.(oauth2.ExtendableTokenInfo).GetExtension()
		if len(want.Extension) > 0 || len(got) > 0 {
			if !reflect.DeepEqual(got, want.Extension) {
				t.Fatalf("extension %v, want %v", got, want.Extension)
			}
		}
	}
	gone := func(get func(context.Context, string) (oauth2.TokenInfo, error), v, why string) {
		t.Helper()
		if _, err := get(w.ctx, v); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("%s: lookup = %v, want ErrNotFound", why, err)
		}
	}
	reused := func(get func(context.Context, string) (oauth2.TokenInfo, error), v, grant, why string) {
		t.Helper()
		_, err := get(w.ctx, v)
		var re *oauth2.ReusedError
		if !errors.As(err, &re) || re.GrantID != grant {
			t.Fatalf("%s: lookup = %v, want a ReusedError of %s", why, err, grant)
		}
	}
	found(s.GetByAccess, w.live.Access, w.live)
	found(s.GetByRefresh, w.live.Refresh, w.live)
	reused(s.GetByCode, w.code.Code, "g-code", "exchanged code")
	found(s.GetByAccess, w.issued.Access, w.issued)
	found(s.GetByRefresh, w.issued.Refresh, w.issued)
	reused(s.GetByRefresh, w.rotated.Refresh, "g-rot", "rotated-out refresh token")
	gone(s.GetByAccess, w.rotated.Access, "access token of a rotated-out refresh token")
	found(s.GetByRefresh, w.successor.Refresh, w.successor)
	gone(s.GetByAccess, w.revoked.Access, "revoked access token")
	gone(s.GetByRefresh, w.revoked.Refresh, "revoked refresh token")
	gone(s.GetByAccess, w.removedAccess.Access, "removed access token")
	found(s.GetByRefresh, w.removedAccess.Refresh, w.removedAccess)
	gone(s.GetByRefresh, w.removedRefr.Refresh, "removed refresh token")
	gone(s.GetByAccess, w.removedRefr.Access, "access token of a removed refresh token")
}

// TestFileTokenStore_SurvivesRestart: what a store answered is there after
// it is closed and opened again, also after a compaction, and replays are
// still detected.
func TestFileTokenStore_SurvivesRestart(t *testing.T) {
	for _, compacted := range []bool{false, true} {
		name := "journal"
		if compacted {
			name = "compacted"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.db")
			clock := storetest.NewClock(time.Now().UTC())
			s, err := store.OpenFileTokenStore(path, store.WithFileClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			w := writeWorld(t, s, clock.Now())
			w.check(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if compacted {
				defer store.SetFileCompactMin(0)()
			}
			before, _ := os.Stat(path)
			s = openFile(t, path, clock.Now)
			after, _ := os.Stat(path)
			if compacted && after.Size() >= before.Size() {
				t.Fatalf("compaction at open left %d bytes of %d", after.Size(), before.Size())
			}
			w.check(t, s)
			// The replayed state takes new changes, and a replay of the
			// rotated-out token still names its grant.
			if err := s.RotateRefresh(w.ctx, w.rotated.Refresh, w.token(clock.Now(), "g-rot")); !errors.Is(err, oauth2.ErrReused) {
				t.Fatalf("replay after restart: %v, want ErrReused", err)
			}
			if err := s.ExchangeCode(w.ctx, w.code.Code, w.token(clock.Now(), "g-code")); !errors.Is(err, oauth2.ErrReused) {
				t.Fatalf("code replay after restart: %v, want ErrReused", err)
			}
		})
	}
}

// TestFileTokenStore_ExpiredDataIsNotCompactedBack: expired records stay
// gone across a compaction and a restart.
func TestFileTokenStore_ExpiredDataIsNotCompactedBack(t *testing.T) {
	defer store.SetFileCompactMin(0)()
	path := filepath.Join(t.TempDir(), "tokens.db")
	clock := storetest.NewClock(time.Now().UTC())
	s := openFile(t, path, clock.Now)
	ctx := context.Background()
	short := &models.Token{ClientID: "c", Access: fileKey(), AccessCreateAt: clock.Now(), AccessExpiresIn: time.Minute}
	long := &models.Token{ClientID: "c", Access: fileKey(), AccessCreateAt: clock.Now(), AccessExpiresIn: time.Hour}
	for _, tok := range []*models.Token{short, long} {
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	s.Close()
	// The open compacts, with the threshold at zero.
	s = openFile(t, path, clock.Now)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte{'\n'}); n != 1 {
		t.Fatalf("compacted file has %d lines, want the one live record:\n%s", n, data)
	}
	s.Close()
	s = openFile(t, path, clock.Now)
	if _, err := s.GetByAccess(ctx, short.Access); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("expired token after restart: %v", err)
	}
	if _, err := s.GetByAccess(ctx, long.Access); err != nil {
		t.Fatalf("live token after restart: %v", err)
	}
}

// TestFileTokenStore_TornTail: a last line cut short by a crash is dropped
// and the store opens with everything before it; damage before the last
// line makes the open fail instead of losing data.
func TestFileTokenStore_TornTail(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (string, []*models.Token) {
		path := filepath.Join(t.TempDir(), "tokens.db")
		s, err := store.OpenFileTokenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		var toks []*models.Token
		for range 3 {
			tok := &models.Token{ClientID: "c", Access: fileKey(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
			if err := s.Create(ctx, tok); err != nil {
				t.Fatal(err)
			}
			toks = append(toks, tok)
		}
		s.Close()
		return path, toks
	}
	t.Run("torn last line", func(t *testing.T) {
		path, toks := setup(t)
		data, _ := os.ReadFile(path)
		lines := bytes.SplitAfter(data, []byte{'\n'})
		torn := append(bytes.Join(lines[:2], nil), lines[2][:len(lines[2])/2]...)
		if err := os.WriteFile(path, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		s := openFile(t, path, time.Now)
		for i, tok := range toks {
			_, err := s.GetByAccess(ctx, tok.Access)
			if (i < 2) != (err == nil) {
				t.Fatalf("token %d after a torn tail: %v", i, err)
			}
		}
		// New writes land after the good lines, and survive a restart.
		next := &models.Token{ClientID: "c", Access: fileKey(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
		if err := s.Create(ctx, next); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openFile(t, path, time.Now)
		if _, err := s.GetByAccess(ctx, next.Access); err != nil {
			t.Fatalf("write after a torn tail lost: %v", err)
		}
	})
	t.Run("damaged middle line", func(t *testing.T) {
		path, _ := setup(t)
		data, _ := os.ReadFile(path)
		i := bytes.IndexByte(data, '\n')
		data[i/2] ^= 0x20
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := store.OpenFileTokenStore(path); err == nil {
			s.Close()
			t.Fatal("a store with a damaged line before the last opened")
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatal("a failed open changed the file")
		}
	})
}

// TestFileTokenStore_KeepsNoTokenValues: the file holds hashes of the codes
// and tokens, never the values (docs/architecture.md).
func TestFileTokenStore_KeepsNoTokenValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := openFile(t, path, time.Now)
	w := writeWorld(t, s, time.Now())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []*models.Token{w.live, w.code, w.issued, w.rotated, w.successor, w.revoked} {
		for _, v := range []string{tok.Code, tok.Access, tok.Refresh} {
			if v != "" && bytes.Contains(data, []byte(v)) {
				t.Fatalf("the file holds a token value")
			}
		}
	}
	if info, _ := os.Stat(path); info.Mode().Perm()&0o077 != 0 {
		t.Fatalf("file mode %v is readable by others", info.Mode())
	}
}

// TestFileTokenStore_OneOpenerAtATime: a second open of the same file fails
// while the first is open, and succeeds after Close.
func TestFileTokenStore_OneOpenerAtATime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s, err := store.OpenFileTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := store.NewFileTokenStore(path); err == nil {
		s2.(*store.FileTokenStore).Close()
		t.Fatal("a second store opened the same file")
	}
	// After a compaction the new file is locked as the old one was.
	restore := store.SetFileCompactMin(0)
	if err := s.Create(context.Background(), &models.Token{Access: fileKey(), AccessCreateAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	restore()
	if s2, err := store.NewFileTokenStore(path); err == nil {
		s2.(*store.FileTokenStore).Close()
		t.Fatal("a second store opened the file after a compaction")
	}
	// A file removed and created again is a new store, as go-oauth2 v4's
	// tests do it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s3, err := store.OpenFileTokenStore(path)
	if err != nil {
		t.Fatalf("open of a removed file's name: %v", err)
	}
	s3.Close()
	s.Close()
	if err := s.Create(context.Background(), &models.Token{Access: fileKey(), AccessCreateAt: time.Now()}); err == nil {
		t.Fatal("a closed store accepted a write")
	}
	s2, err := store.NewFileTokenStore(path)
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	s2.(*store.FileTokenStore).Close()
}

// FuzzFileTokenStore_Open: any file content opens or fails with an error,
// never a panic, and an opened store answers lookups and takes writes.
func FuzzFileTokenStore_Open(f *testing.F) {
	// Lines with valid checksums, so that the fuzzer starts past them.
	line := func(json string) string {
		return fmt.Sprintf("%s\t%x\n", json, crc32.Checksum([]byte(json), crc32.MakeTable(crc32.Castagnoli)))
	}
	const k = "QhmFA62whlBdgcKUD1HfFEsyy-LGB8hgxAhswS1xjZc"
	f.Add([]byte(""))
	f.Add([]byte("{}\t0\n"))
	f.Add([]byte(line(`{"put":{"client":"c","grant":"g","parts":[{"k":"` + k + `","c":1,"ttl":60},null,{"k":"` + k + `","c":1,"gone":true}]}}`)))
	f.Add([]byte(line(`{"used":[{"k":"`+k+`","kind":7}]}`) + line(`{"revoke":"g"}`)))
	f.Add([]byte(line(`{"put":{"grant":"g","ext":{"a":["b"]},"parts":[null,{"k":"`+k+`","c":-9223372036854775808}]}}`) +
		line(`{"del":["`+k+`","x"],"used":[{"k":"`+k+`","kind":2,"grant":"g","until":5}]}`) + "{\"rev"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := store.OpenFileTokenStore(path)
		if err != nil {
			return
		}
		defer s.Close()
		ctx := context.Background()
		for _, get := range []func(context.Context, string) (oauth2.TokenInfo, error){s.GetByCode, s.GetByAccess, s.GetByRefresh} {
			get(ctx, "QhmFA62whlBdgcKUD1HfFEsyy-LGB8hgxAhswS1xjZc")
		}
		if err := s.Create(ctx, &models.Token{ClientID: "c", Access: fileKey(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}); err != nil {
			t.Fatalf("write to an opened store: %v", err)
		}
	})
}

// BenchmarkFileTokenStore measures a durable write (one synced journal
// line) and a read (memory only).
func BenchmarkFileTokenStore(b *testing.B) {
	s, err := store.OpenFileTokenStore(filepath.Join(b.TempDir(), "tokens.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.Run("Create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Create(ctx, &models.Token{ClientID: "c", Scope: "read", Access: fileKey(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
	tok := &models.Token{ClientID: "c", Scope: "read", Access: fileKey(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
	if err := s.Create(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.Run("GetByAccess", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetByAccess(ctx, tok.Access); err != nil {
				b.Fatal(err)
			}
		}
	})
}
