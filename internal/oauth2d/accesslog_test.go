package oauth2d

import (
	"bytes"
	"context"
	"log/slog"
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
// slog is, for any values, exactly what slog's text and JSON handlers
// write.
func FuzzAccessLine_MatchesSlog(f *testing.F) {
	f.Add("POST", "/token", 200, int64(89694), "127.0.0.1:1", "id-1", "000000", int64(1765000000123456789), true)
	f.Add("", "", 0, int64(-1), "", "", "", int64(0), false)
	f.Add("G E=T", "/\x00\u2028\xff", 599, int64(1<<62), "a\"b", "\\", "é", int64(-62135596800), true)
	f.Fuzz(func(t *testing.T, method, path string, status int, d int64, peer, id, clientID string, unixNano int64, withAddr bool) {
		l := accessLine{at: time.Unix(0, unixNano).UTC(), method: method, path: path, status: status,
			duration: time.Duration(d), peer: peer, requestID: id, clientID: clientID}
		if y := l.at.Year(); y < 0 || y >= 10000 {
			t.Skip("slog writes an error for years outside 0..9999")
		}
		if withAddr {
			l.clientAddr = netip.AddrFrom4([4]byte{byte(status), byte(d), 1, 2})
		}
		for _, json := range []bool{false, true} {
			got := appendAccessLine(nil, json, &l)
			if want := slogLine(t, json, &l); !bytes.Equal(got, want) {
				t.Fatalf("json=%v:\n got %q\nwant %q", json, got, want)
			}
		}
	})
}
