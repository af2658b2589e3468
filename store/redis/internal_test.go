package redis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// replyError is an error reply of a Redis server, as go-redis types them.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

var _ goredis.Error = replyError("")

func TestClassify_MapsClientErrorsToTheContract(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name        string
		err         error
		notFound    bool
		unavailable bool
	}{
		{"nil reply is not found", goredis.Nil, true, false},
		{"connection refused", refused, false, true},
		{"connection closed mid-reply", io.ErrUnexpectedEOF, false, true},
		{"timeout of the store's own deadline", context.DeadlineExceeded, false, true},
		{"deadline wrapped by the client", fmt.Errorf("redis: %w", context.DeadlineExceeded), false, true},
		{"pool timeout", goredis.ErrPoolTimeout, false, true},
		{"closed client", goredis.ErrClosed, false, true},
		{"Redis loading its data", replyError("LOADING Redis is loading the dataset in memory"), false, true},
		{"replica during failover", replyError("READONLY You can't write against a read only replica."), false, true},
		{"write refused inside a script", replyError("ERR Error running script (call to f_1): @user_script:1: -READONLY You can't write against a read only replica."), false, true},
		{"out of memory", replyError("OOM command not allowed when used memory > 'maxmemory'."), false, true},
		{"script busy", replyError("BUSY Redis is busy running a script."), false, true},
		{"too many clients", replyError("ERR max number of clients reached"), false, true},
		{"wrong type is a bug, not an outage", replyError("WRONGTYPE Operation against a key holding the wrong kind of value"), false, false},
		{"script error is a bug, not an outage", replyError("ERR user_script:3: attempt to index a nil value"), false, false},
		{"caller's cancellation", context.Canceled, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", tt.err)
			if got := errors.Is(err, oauth2.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			if got := errors.Is(err, oauth2.ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if !tt.notFound && !errors.Is(err, tt.err) {
				t.Errorf("classify lost the cause: %v", err)
			}
		})
	}
	if classify("op", nil) != nil {
		t.Fatal("classify(nil) != nil")
	}
}

func TestTTL_CoversTheTokenWithSlack(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(d time.Duration) int64 { return int64(d / time.Millisecond) }
	tests := []struct {
		name string
		exp  time.Time
		want int64
	}{
		{"never", time.Time{}, -1},
		{"an hour", now.Add(time.Hour), ms(time.Hour + ttlSlack)},
		{"rounded up to the millisecond", now.Add(time.Hour + time.Nanosecond), ms(time.Hour+ttlSlack) + 1},
		{"already expired keeps the slack only", now.Add(-time.Second), ms(ttlSlack - time.Second)},
		{"long expired still positive", now.Add(-time.Hour), 1},
		{"centuries away is never", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ttl(tt.exp, now); got != tt.want {
				t.Fatalf("ttl = %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzStamp_OrdersLikeTime checks that expiry stamps, which the scripts
// compare as strings, order exactly as the instants they stand for.
func FuzzStamp_OrdersLikeTime(f *testing.F) {
	f.Add(int64(0), int64(1))
	f.Add(int64(1764000000123456789), int64(1764000000123456790))
	f.Add(int64(-5), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, a, b int64) {
		ta, tb := time.Unix(0, a), time.Unix(0, b)
		sa, sb := stamp(ta), stamp(tb)
		if len(sa) != stampLen || len(sb) != stampLen {
			t.Fatalf("stamp widths %d, %d", len(sa), len(sb))
		}
		if sa >= never || sb >= never {
			t.Fatal("a stamp reaches never")
		}
		if a >= 0 && b >= 0 && (a < b) != (sa < sb) {
			t.Fatalf("stamp(%d)=%s, stamp(%d)=%s order differently", a, sa, b, sb)
		}
		if a < b && sa > sb {
			t.Fatalf("stamp(%d)=%s > stamp(%d)=%s", a, sa, b, sb)
		}
	})
}

// FuzzRecord_RoundTrip checks that every field of a record survives the
// encoding the store writes, and that the encoding holds no code or token
// value.
func FuzzRecord_RoundTrip(f *testing.F) {
	f.Add("client", "josé", "https://c.example/cb", "read write", "grant-1", "chal", int64(1764000000), int64(123456789), int64(time.Hour))
	f.Add("", "", "", "", "", "", int64(-62135596800), int64(0), int64(-1))
	f.Add("\xff\xfe", "\x00", "<&>", "\u2028", "g\"", "\\", int64(1<<40), int64(999999999), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, client, user, uri, scope, grant, challenge string, sec, nsec int64, d int64) {
		at := time.Unix(sec, nsec%1e9)
		in := &models.Token{
			ClientID: client, UserID: user, RedirectURI: uri, Scope: scope, GrantID: grant,
			Code: "CODE-0123456789abcdefghijklmnopqrstuvwxyzABC", CodeCreateAt: at, CodeExpiresIn: time.Duration(d),
			CodeChallenge: challenge, CodeChallengeMethod: oauth2.CodeChallengeS256,
			Access: "ACCESS-0123456789abcdefghijklmnopqrstuvwxyzA", AccessCreateAt: at.Add(time.Second), AccessExpiresIn: time.Duration(d),
			Refresh: "REFRESH-0123456789abcdefghijklmnopqrstuvwxyz", RefreshCreateAt: at.Add(time.Minute), RefreshExpiresIn: time.Duration(d),
		}
		r, parts := newRecord(in, true)
		if len(parts) != 3 {
			t.Fatalf("%d parts, want 3", len(parts))
		}
		b := r.encode()
		for _, secret := range []string{in.Code, in.Access, in.Refresh} {
			if strings.Contains(string(b), secret) {
				t.Fatal("the stored record holds a token value")
			}
		}
		back, err := decodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.token(kindAccess, in.Access)
		if err != nil {
			t.Fatal(err)
		}
		// JSON keeps text: each invalid UTF-8 byte becomes U+FFFD.
		valid := func(s string) string { return string([]rune(s)) }
		for _, c := range []struct{ name, got, want string }{
			{"ClientID", got.ClientID, valid(client)},
			{"UserID", got.UserID, valid(user)},
			{"RedirectURI", got.RedirectURI, valid(uri)},
			{"Scope", got.Scope, valid(scope)},
			{"GrantID", got.GrantID, valid(grant)},
			{"CodeChallenge", got.CodeChallenge, valid(challenge)},
			{"Access", got.Access, in.Access},
		} {
			if c.got != c.want {
				t.Fatalf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if got.Code != "" || got.Refresh != "" {
			t.Fatal("a record found by its access token carries other token values")
		}
		for _, c := range []struct {
			name     string
			got, in  time.Time
			gd, want time.Duration
		}{
			{"Code", got.CodeCreateAt, in.CodeCreateAt, got.CodeExpiresIn, in.CodeExpiresIn},
			{"Access", got.AccessCreateAt, in.AccessCreateAt, got.AccessExpiresIn, in.AccessExpiresIn},
			{"Refresh", got.RefreshCreateAt, in.RefreshCreateAt, got.RefreshExpiresIn, in.RefreshExpiresIn},
		} {
			if !c.got.Equal(c.in) || c.gd != c.want {
				t.Fatalf("%s times = %v, %v; want %v, %v", c.name, c.got, c.gd, c.in, c.want)
			}
		}
		// Expiry: live just before CreateAt+ExpiresIn, never after.
		if d > 0 {
			exp := in.AccessCreateAt.Add(time.Duration(d))
			if exp.After(minStampTime) && exp.Before(maxStampTime) {
				if !back.live(kindAccess, stamp(exp.Add(-time.Nanosecond))) || back.live(kindAccess, stamp(exp)) {
					t.Fatal("access part not live exactly until its expiry")
				}
			}
		} else if !back.live(kindAccess, stamp(time.Unix(0, math.MaxInt64))) {
			t.Fatal("a part with ExpiresIn <= 0 expired")
		}
	})
}

// TestMarker_ParsesWhatTheScriptWrites checks the layout of a replay marker
// that the consume script writes ('!', stamp, nonce, grant) against the
// Go side that reads it.
// TestHashValue_IsBase64URLOfSHA256 checks the stack-buffer hashing
// against the plain computation, for values shorter and longer than its
// buffer: every key the store ever wrote depends on it.
func TestHashValue_IsBase64URLOfSHA256(t *testing.T) {
	if hashLen != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		t.Fatalf("hashLen = %d, want %d", hashLen, base64.RawURLEncoding.EncodedLen(sha256.Size))
	}
	for _, n := range []int{0, 1, 43, 52, 127, 128, 129, 1000} {
		value := strings.Repeat("v", n)
		sum := sha256.Sum256([]byte(value))
		if got, want := hashValue(value), base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("hashValue of %d bytes = %q, want %q", n, got, want)
		}
	}
}

// TestFormatTime_RoundTrips checks that formatTime writes what parseTime
// reads back exactly, before and after the Unix epoch.
func TestFormatTime_RoundTrips(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(1796000000, 123456789),
		time.Unix(1796000000, 0),
		time.Unix(0, 1),
		time.Unix(-5, 999999999),
	} {
		got, err := parseTime(formatTime(tm))
		if err != nil || !got.Equal(tm) {
			t.Errorf("parseTime(formatTime(%v)) = %v, %v", tm, got, err)
		}
	}
	if formatTime(time.Time{}) != "" {
		t.Error("formatTime of the zero time is not empty")
	}
}

func TestMarker_ParsesWhatTheScriptWrites(t *testing.T) {
	nonce := rand.Text()
	if len(nonce) != nonceLen {
		t.Fatalf("rand.Text() has %d characters, the scripts expect %d", len(nonce), nonceLen)
	}
	exp := stamp(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	for _, grant := range []string{"", "grant-1", "grant with spaces and ! marks"} {
		gotExp, gotGrant, err := parseMarker([]byte("!" + exp + nonce + grant))
		if err != nil || gotExp != exp || gotGrant != grant {
			t.Fatalf("parseMarker = %q, %q, %v; want %q, %q", gotExp, gotGrant, err, exp, grant)
		}
	}
	if _, _, err := parseMarker([]byte("!123")); err == nil {
		t.Fatal("parseMarker accepted a truncated marker")
	}
}

// TestPipeliner_CommandQueuedPastTheTimeoutIsNotSent checks the bound on a
// caller without a deadline of its own (Create's fast path): while a
// flush hangs on a Redis that does not answer, longer than the store's
// timeout (a client without ContextTimeoutEnabled waits for its own
// ReadTimeout), a command queued behind it is answered with a timeout as
// soon as that flush ends, instead of being sent and waited for again.
func TestPipeliner_CommandQueuedPastTheTimeoutIsNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, reads, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	const timeout, hang = 100 * time.Millisecond, 600 * time.Millisecond
	client := goredis.NewClient(&goredis.Options{
		Addr: ln.Addr().String(), Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		ReadTimeout: hang, PoolSize: 1,
	})
	defer client.Close()
	p := &pipeliner{client: client, timeout: timeout}
	ctx := context.Background()

	first := goredis.NewStringCmd(ctx, "get", "a")
	firstDone := make(chan struct{})
	go func() {
		p.do(ctx, first)
		close(firstDone)
	}()
	for { // the first command is on its way
		p.mu.Lock()
		busy := p.busy && len(p.queue) == 0
		p.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	second := goredis.NewStringCmd(ctx, "get", "b")
	p.do(ctx, second)
	waited := time.Since(start)
	<-firstDone
	if !errors.Is(classify("get", first.Err()), oauth2.ErrUnavailable) {
		t.Fatalf("command of the hanging flush: %v, want a timeout (unavailable)", first.Err())
	}
	if !errors.Is(second.Err(), errQueuedTooLong) {
		t.Fatalf("command queued behind it: %v, want errQueuedTooLong", second.Err())
	}
	if !errors.Is(classify("create", second.Err()), oauth2.ErrUnavailable) {
		t.Fatal("a command queued past the timeout is not classified unavailable")
	}
	// Sent, it would have waited for a second hanging flush: 2 * hang.
	if waited > hang+hang/2 {
		t.Fatalf("the queued caller waited %v, want the hanging flush only (%v)", waited, hang)
	}
	if got := p.cmds.Load(); got != 1 {
		t.Fatalf("%d commands sent, want 1: the expired one is not sent", got)
	}
}

// TestRecord_EncodeIsJSONMarshal checks the hand-written encoder against
// encoding/json: the scripts (cjson) and decodeRecord read what it writes,
// and a resent write is recognised by its bytes.
func TestRecord_EncodeIsJSONMarshal(t *testing.T) {
	tests := []struct {
		name string
		r    record
	}{
		{"empty", record{}},
		{"client_credentials token", record{ClientID: "000000", Scope: "read", AccessAt: "00001765000000000000", AccessTTL: 7200000000000, AccessExp: "00001765007200000000", AccessKey: "k"}},
		{"every field", record{
			ClientID: "c", UserID: "u", RedirectURI: "https://a.example/cb?x=1&y=<2>", Scope: "openid profile", GrantID: "g",
			Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Method: "S256",
			CodeAt: "1", CodeTTL: -5, CodeExp: "2", AccessAt: "3", AccessTTL: 1, AccessExp: "4",
			RefreshAt: "5", RefreshTTL: math.MaxInt64, RefreshExp: "6", AccessKey: "ak", Extension: "nonce=n%20&acr=1",
		}},
		{"characters JSON escapes", record{ClientID: "\"\\\n\t\u2028<&>\x00", UserID: "caf\xe9", Scope: "ünïcode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.encode()
			want, err := json.Marshal(&tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("encode = %s\njson.Marshal = %s", got, want)
			}
		})
	}
}

// FuzzRecordEncode: the hand-written encoder writes what json.Marshal
// writes, for any field values.
func FuzzRecordEncode(f *testing.F) {
	f.Add("000000", "", "https://a.example/cb", "read", "g", "S256", "nonce=n", int64(7200000000000), int64(0))
	f.Add("\"<\u2028>\xff", "u", "", "", "", "", "", int64(-1), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, client, user, redirect, scope, grant, method, ext string, ttl1, ttl2 int64) {
		r := record{ClientID: client, UserID: user, RedirectURI: redirect, Scope: scope, GrantID: grant,
			Method: method, CodeTTL: ttl1, AccessAt: scope, AccessTTL: ttl2, RefreshExp: user, Extension: ext}
		got := r.encode()
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("encode = %s, json.Marshal = %s", got, want)
		}
	})
}
