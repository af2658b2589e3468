package oauth2d

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
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
// record "request" with the line's attributes, in their order. The keys
// and the level and message are constant, so they are appended as they
// are encoded; only the values are encoded per line.
func appendAccessLine(b []byte, json bool, l *accessLine) []byte {
	if json {
		return appendAccessJSON(b, l)
	}
	return appendAccessText(b, l)
}

// appendAccessText appends l as slog's text handler writes it.
func appendAccessText(b []byte, l *accessLine) []byte {
	b = append(b, "time="...)
	b = appendLogTime(b, l.at, false)
	b = append(b, " level=INFO msg=request method="...)
	b = appendTextValue(b, l.method)
	b = append(b, " path="...)
	b = appendTextValue(b, l.path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, " duration="...)
	b = appendDuration(b, l.duration)
	b = append(b, " peer="...)
	b = appendTextValue(b, l.peer)
	b = append(b, " request_id="...)
	b = appendTextValue(b, l.requestID)
	if l.clientAddr.IsValid() {
		b = append(b, " client_addr="...)
		if l.clientAddr.Zone() == "" {
			b = l.clientAddr.AppendTo(b)
		} else {
			b = appendTextValue(b, l.clientAddr.String())
		}
	}
	if l.clientID != "" {
		b = append(b, " client_id="...)
		b = appendTextValue(b, l.clientID)
	}
	return append(b, '\n')
}

// appendAccessJSON appends l as slog's JSON handler writes it.
func appendAccessJSON(b []byte, l *accessLine) []byte {
	b = append(b, `{"time":"`...)
	b = appendLogTime(b, l.at, true)
	b = append(b, `","level":"INFO","msg":"request","method":"`...)
	b = appendJSONEscaped(b, l.method)
	b = append(b, `","path":"`...)
	b = appendJSONEscaped(b, l.path)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(l.duration), 10)
	b = append(b, `,"peer":"`...)
	b = appendJSONEscaped(b, l.peer)
	b = append(b, `","request_id":"`...)
	b = appendJSONEscaped(b, l.requestID)
	b = append(b, '"')
	if l.clientAddr.IsValid() {
		b = append(b, `,"client_addr":"`...)
		if l.clientAddr.Zone() == "" {
			b = l.clientAddr.AppendTo(b)
		} else {
			b = appendJSONEscaped(b, l.clientAddr.String())
		}
		b = append(b, '"')
	}
	if l.clientID != "" {
		b = append(b, `,"client_id":"`...)
		b = appendJSONEscaped(b, l.clientID)
		b = append(b, '"')
	}
	return append(b, '}', '\n')
}

// appendTextValue appends s as slog's text handler writes a string value:
// quoted when textNeedsQuoting says so.
func appendTextValue(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// logSecond is the part of a log line's time that changes at most once a
// second: the date and time to the second, and the zone offset, as RFC
// 3339 writes them, for one second of one location.
type logSecond struct {
	unix int64
	loc  *time.Location
	date string // 2006-01-02T15:04:05
	zone string // Z07:00
}

// lastLogSecond is the second of the latest line: the lines of one second
// format their date once.
var lastLogSecond atomic.Pointer[logSecond]

// appendLogTime appends t as slog writes a record's time: RFC 3339 with
// exactly three fractional digits (text), or with nanoseconds and the
// trailing zeros trimmed, as time.RFC3339Nano formats it (JSON).
func appendLogTime(b []byte, t time.Time, nanos bool) []byte {
	sec, loc := t.Unix(), t.Location()
	s := lastLogSecond.Load()
	if s == nil || s.unix != sec || s.loc != loc {
		s = &logSecond{unix: sec, loc: loc, date: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00")}
		lastLogSecond.Store(s)
	}
	b = append(b, s.date...)
	ns := t.Nanosecond()
	if !nanos {
		ms := ns / int(time.Millisecond)
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	} else if ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, s.zone...)
}

// appendDuration appends d as time.Duration's String writes it ("1h2m3.5s",
// "89.694µs", "0s"), without making the string.
func appendDuration(b []byte, d time.Duration) []byte {
	if d == 0 {
		return append(b, "0s"...)
	}
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u
	}
	if u < uint64(time.Second) {
		// A fraction of a second in the largest unit under it.
		switch {
		case u < uint64(time.Microsecond):
			b = strconv.AppendUint(b, u, 10)
			return append(b, "ns"...)
		case u < uint64(time.Millisecond):
			b = appendDecimal(b, u, 3)
			return append(b, "µs"...)
		default:
			b = appendDecimal(b, u, 6)
			return append(b, "ms"...)
		}
	}
	secs := u / uint64(time.Second)
	if h := secs / 3600; h > 0 {
		b = strconv.AppendUint(b, h, 10)
		b = append(b, 'h')
	}
	if m := secs / 60; m > 0 {
		b = strconv.AppendUint(b, m%60, 10)
		b = append(b, 'm')
	}
	b = appendDecimal(b, u%uint64(time.Minute), 9)
	return append(b, 's')
}

// appendDecimal appends v / 10^digits with its fraction, trailing zeros
// and a bare point left out.
func appendDecimal(b []byte, v uint64, digits int) []byte {
	var frac [10]byte
	n := 0
	for i := digits; i > 0; i-- {
		d := byte('0' + v%10)
		v /= 10
		if n > 0 || d != '0' {
			frac[i] = d
			if n == 0 {
				n = i + 1
			}
		}
	}
	b = strconv.AppendUint(b, v, 10)
	if n == 0 {
		return b
	}
	frac[0] = '.'
	return append(b, frac[:n]...)
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
			if !textBare[c] {
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

// textBare holds the ASCII bytes slog's text handler writes unquoted: the
// ones JSON holds as they are, and the backslash, but space and '='.
var textBare = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c == '\\' || (c != ' ' && c != '=' && jsonSafe(byte(c)))
	}
	return t
}()

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
