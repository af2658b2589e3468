package oauth2d

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/netip"
	"testing"
	"time"
)

// slogLine is the access line as slog itself writes it, for comparison.
func slogLine(t testing.TB, json bool, l *accessLine) []byte {
	t.Helper()
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if json {
		h = slog.NewJSONHandler(&buf, nil)
	}
	rec := slog.NewRecord(l.at, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Duration("duration", l.duration),
		slog.String("peer", l.peer),
		slog.String("request_id", l.requestID),
	)
	if l.clientAddr.IsValid() {
		rec.AddAttrs(slog.String("client_addr", l.clientAddr.String()))
	}
	if l.clientID != "" {
		rec.AddAttrs(slog.String("client_id", l.clientID))
	}
	if err := h.Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAccessLine_SameBytesAsSlog(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 9, 7, 285000000, time.UTC)
	lines := []accessLine{
		{at: at, method: "POST", path: "/token", status: 200, duration: 89694 * time.Nanosecond,
			peer: "127.0.0.1:48032", requestID: "f2eec98b0952-1", clientID: "000000"},
		// The same second in another zone, and the next second: the
		// date formatted once a second is not reused for them.
		{at: at.In(time.FixedZone("", -7*3600)), method: "POST", path: "/token", status: 200, peer: "p", requestID: "r"},
		{at: at.Add(time.Second), method: "POST", path: "/token", status: 200, peer: "p", requestID: "r"},
		{at: at.Add(123456789), method: "GET", path: "/authorize", status: 302, duration: 2 * time.Second,
			peer: "[::1]:1", requestID: "x", clientAddr: netip.MustParseAddr("203.0.113.9")},
		{at: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)), method: "GET", path: "/a b=c\"\\<&>",
			status: 404, duration: 0, peer: "", requestID: "é\u2028\x00\xff", clientID: "a\tb\nc\r"},
	}
	for _, l := range lines {
		for _, json := range []bool{false, true} {
			got := appendAccessLine(nil, json, &l)
			if want := slogLine(t, json, &l); !bytes.Equal(got, want) {
				t.Errorf("json=%v:\n got %q\nwant %q", json, got, want)
			}
		}
	}
}

func TestAccessLine_WrittenByTheAppsOwnHandlerOnly(t *testing.T) {
	var buf bytes.Buffer
	l := accessLine{at: time.Now(), method: "POST", path: "/token", status: 200, peer: "p", requestID: "r"}
	if !writeAccessLine(context.Background(), newLogHandler(&buf, true), &l) || buf.Len() == 0 {
		t.Fatal("the App's own handler did not get the line")
	}
	if writeAccessLine(context.Background(), slog.NewJSONHandler(&buf, nil), &l) {
		t.Fatal("another handler's line was encoded outside slog")
	}
	buf.Reset()
	quiet := &logHandler{Handler: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), w: &buf}
	if !writeAccessLine(context.Background(), quiet, &l) || buf.Len() != 0 {
		t.Fatalf("a handler above Info wrote %q", buf.String())
	}
}

// FuzzAccessLine_MatchesSlog checks that the access line encoded outside
// slog is, for any values, times and zones, exactly what slog's text and
// JSON handlers write.
func FuzzAccessLine_MatchesSlog(f *testing.F) {
	f.Add("POST", "/token", 200, int64(89694), "127.0.0.1:1", "id-1", "000000", int64(1765000000123456789), 0, "", true)
	f.Add("", "", 0, int64(-1), "", "", "", int64(0), -3600, "", false)
	f.Add("G E=T", "/\x00\u2028\xff", 599, int64(1<<62), "a\"b", "\\", "é", int64(-62135596800), 19800, "eth 0=\"", true)
	f.Add("GET", "/", 302, int64(3600*time.Second+500*time.Millisecond), "p", "r", "c", int64(1765000000000000000), 3600, "", true)
	f.Fuzz(func(t *testing.T, method, path string, status int, d int64, peer, id, clientID string, unixNano int64, offset int, zone string, withAddr bool) {
		at := time.Unix(0, unixNano).UTC()
		if offset != 0 {
			at = at.In(time.FixedZone("", offset%(18*3600)))
		}
		l := accessLine{at: at, method: method, path: path, status: status,
			duration: time.Duration(d), peer: peer, requestID: id, clientID: clientID}
		if y := l.at.Year(); y < 0 || y >= 10000 {
			t.Skip("slog writes an error for years outside 0..9999")
		}
		if withAddr {
			l.clientAddr = netip.AddrFrom4([4]byte{byte(status), byte(d), 1, 2})
			if zone != "" {
				l.clientAddr = netip.AddrFrom16(l.clientAddr.As16()).WithZone(zone)
			}
		}
		for _, json := range []bool{false, true} {
			got := appendAccessLine(nil, json, &l)
			if want := slogLine(t, json, &l); !bytes.Equal(got, want) {
				t.Fatalf("json=%v:\n got %q\nwant %q", json, got, want)
			}
		}
	})
}

// FuzzAppendDuration_MatchesString checks appendDuration against
// time.Duration's String.
func FuzzAppendDuration_MatchesString(f *testing.F) {
	for _, d := range []time.Duration{0, 1, 999, 1000, 89694, time.Millisecond, 1500 * time.Millisecond,
		time.Minute, time.Hour, 3601*time.Second + 1, -time.Microsecond, math.MinInt64, math.MaxInt64} {
		f.Add(int64(d))
	}
	f.Fuzz(func(t *testing.T, d int64) {
		if got, want := string(appendDuration([]byte("x"), time.Duration(d))), "x"+time.Duration(d).String(); got != want {
			t.Fatalf("appendDuration(%d) = %q, want %q", d, got, want)
		}
	})
}

// BenchmarkAccessLine measures the encoding of a token request's access
// line in both formats.
func BenchmarkAccessLine(b *testing.B) {
	l := accessLine{at: time.Now(), method: "POST", path: "/token", status: 200, duration: 89694 * time.Nanosecond,
		peer: "127.0.0.1:48032", requestID: "f2eec98b0952-1", clientID: "000000"}
	for _, json := range []bool{false, true} {
		name := "text"
		if json {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				buf = appendAccessLine(buf[:0], json, &l)
			}
		})
	}
}
