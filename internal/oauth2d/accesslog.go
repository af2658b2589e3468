package oauth2d

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// The access log writes one line per request, the most frequent thing the
// server does besides answering. Through slog it cost about a fifth of the
// standalone server's own time per token request (building a Record,
// copying its attributes, slog's generic encoder). When the App's logger
// is one it made itself (slog's text or JSON handler over a writer safe for
// concurrent use, with default options), the line is encoded here instead,
// byte for byte as slog writes it (FuzzAccessLine_MatchesSlog checks), and
// written in one Write. Any other logger gets the line through slog.

// logHandler is slog's text or JSON handler with default options, made by
// newLogHandler, remembered with its format and writer so that the access
// log can encode its line itself.
type logHandler struct {
	slog.Handler
	json bool
	w    io.Writer
}

// newLogHandler returns slog's text (or JSON) handler on w, with default
// options. w must be safe for concurrent use, as slog's handlers need it
// to be only when other handlers write to it too.
func newLogHandler(w io.Writer, json bool) slog.Handler {
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(w, nil)
	} else {
		h = slog.NewTextHandler(w, nil)
	}
	return &logHandler{Handler: h, json: json, w: w}
}

// accessLine holds the fields of one access log line.
type accessLine struct {
	at         time.Time
	method     string
	path       string
	status     int
	duration   time.Duration
	peer       string
	requestID  string
	clientAddr netip.Addr // only when a trusted proxy reported it
	clientID   string
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeAccessLine writes l through h when h is a logHandler, and reports
// whether it did.
func writeAccessLine(ctx context.Context, h slog.Handler, l *accessLine) bool {
	lh, ok := h.(*logHandler)
	if !ok {
		return false
	}
	if !lh.Enabled(ctx, slog.LevelInfo) {
		return true
	}
	bp := lineBufs.Get().(*[]byte)
	b := appendAccessLine((*bp)[:0], lh.json, l)
	_, _ = lh.w.Write(b)
	if cap(b) <= 4<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
	return true
}

// appendAccessLine appends l as slog's text or JSON handler writes the
// record "request" with the line's attributes, in their order.
func appendAccessLine(b []byte, json bool, l *accessLine) []byte {
	e := lineEncoder{b: b, json: json}
	e.begin()
	e.time("time", l.at)
	e.str("level", slog.LevelInfo.String())
	e.str("msg", "request")
	e.str("method", l.method)
	e.str("path", l.path)
	e.int("status", int64(l.status))
	e.duration("duration", l.duration)
	e.str("peer", l.peer)
	e.str("request_id", l.requestID)
	if l.clientAddr.IsValid() {
		e.str("client_addr", l.clientAddr.String())
	}
	if l.clientID != "" {
		e.str("client_id", l.clientID)
	}
	return e.end()
}

// lineEncoder appends key/value pairs in slog's text or JSON form.
type lineEncoder struct {
	b     []byte
	json  bool
	first bool
}

func (e *lineEncoder) begin() {
	e.first = true
	if e.json {
		e.b = append(e.b, '{')
	}
}

func (e *lineEncoder) end() []byte {
	if e.json {
		e.b = append(e.b, '}')
	}
	return append(e.b, '\n')
}

func (e *lineEncoder) key(k string) {
	if !e.first {
		if e.json {
			e.b = append(e.b, ',')
		} else {
			e.b = append(e.b, ' ')
		}
	}
	e.first = false
	e.strValue(k)
	if e.json {
		e.b = append(e.b, ':')
	} else {
		e.b = append(e.b, '=')
	}
}

func (e *lineEncoder) str(k, v string) {
	e.key(k)
	e.strValue(v)
}

func (e *lineEncoder) strValue(v string) {
	switch {
	case e.json:
		e.b = append(e.b, '"')
		e.b = appendJSONEscaped(e.b, v)
		e.b = append(e.b, '"')
	case textNeedsQuoting(v):
		e.b = strconv.AppendQuote(e.b, v)
	default:
		e.b = append(e.b, v...)
	}
}

func (e *lineEncoder) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

// duration is nanoseconds in JSON, time.Duration's String in text, as
// slog writes them.
func (e *lineEncoder) duration(k string, d time.Duration) {
	e.key(k)
	if e.json {
		e.b = strconv.AppendInt(e.b, int64(d), 10)
		return
	}
	e.b = append(e.b, d.String()...)
}

// time is RFC 3339 with nanoseconds in JSON, and with exactly three
// fractional digits in text, as slog writes them.
func (e *lineEncoder) time(k string, t time.Time) {
	e.key(k)
	t = t.Round(0)
	if e.json {
		e.b = append(e.b, '"')
		e.b = t.AppendFormat(e.b, time.RFC3339Nano)
		e.b = append(e.b, '"')
		return
	}
	// RFC3339Nano trims trailing zeros; a tenth of a millisecond added
	// to the truncated time keeps four digits, of which three are kept.
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(e.b)
	e.b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b[:n+prefixLen], e.b[n+prefixLen+1:]...)
}

// jsonSafe reports the ASCII bytes a JSON string holds as they are: every
// printable one but '"' and '\\' (slog does not escape '<', '>', '&').
func jsonSafe(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' }

// textNeedsQuoting reports whether slog's text handler quotes s: when it
// is empty, or holds a space, '=', a byte JSON would escape (but a
// backslash), invalid UTF-8, or a non-printable or space rune.
func textNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != '\\' && (c == ' ' || c == '=' || !jsonSafe(c)) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

const lowerHex = "0123456789abcdef"

// appendJSONEscaped appends s escaped for a JSON string as slog escapes it:
// '"', '\\', \n, \r, \t by name, other control bytes as \u00XX, invalid
// UTF-8 as \ufffd, U+2028 and U+2029 as escapes.
func appendJSONEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe(c) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
