package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRedact_MasksEveryFormOfThePassword(t *testing.T) {
	const pw = "p@ss:w/rd%"
	tests := []struct {
		name, dsn, msg string
	}{
		{"URL user info", "postgres://app:" + pw + "@db:5432/x", "cannot parse postgres://app:" + pw + "@db:bad/x"},
		{"URL user info, escaped", "postgres://app:p%40ss%3Aw%2Frd%25@db/x", "parse \"postgres://app:p%40ss%3Aw%2Frd%25@db\": p@ss:w/rd%"},
		{"MySQL user info", "app:" + pw + "@tcp(db:3306)/x", "bad dsn app:" + pw + "@tcp(db:3306"},
		{"key=value", "host=db password=" + pw + " user=app", "cannot parse host=db password=" + pw},
		{"key=value, quoted", "host=db password='" + pw + " x' user=app", "password='" + pw + " x'"},
		{"query parameter", "postgres://db/x?password=" + pw, "?password=" + pw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.msg, tt.dsn)
			if strings.Contains(got, "ss:w") || strings.Contains(got, "p%40ss") {
				t.Fatalf("Redact = %q, still holds the password", got)
			}
			if !strings.Contains(got, "xxxxx") {
				t.Fatalf("Redact = %q, masks nothing", got)
			}
		})
	}
	if got := Redact("invalid port", "postgres://db:x/y"); got != "invalid port" {
		t.Fatalf("Redact without a password = %q", got)
	}
}

func TestDSNError_WrapsErrInvalidDSNNotTheDriverError(t *testing.T) {
	inner := errors.New("invalid DSN: bad dsn u:secret@x")
	err := DSNError("mysql", "u:secret@x", inner)
	if !errors.Is(err, ErrInvalidDSN) || errors.Is(err, inner) {
		t.Fatalf("DSNError wraps %v", errors.Unwrap(err))
	}
	if want := "mysql: invalid DSN: bad dsn u:xxxxx@x"; err.Error() != want {
		t.Fatalf("DSNError = %q, want %q", err, want)
	}
}

func TestDialect_RebindNumbersPlaceholders(t *testing.T) {
	tb := newTables("s", "p_")
	pg := &Dialect{Placeholder: Dollar}
	if got := pg.rebind(tb, "SELECT a FROM {tokens} WHERE b = ? AND c > ?"); got != "SELECT a FROM s.p_tokens WHERE b = $1 AND c > $2" {
		t.Fatalf("rebind = %q", got)
	}
	my := &Dialect{Placeholder: QuestionMark}
	if got := my.rebind(newTables("", "x_"), "DELETE FROM {used} WHERE k = ?"); got != "DELETE FROM x_used_keys WHERE k = ?" {
		t.Fatalf("rebind = %q", got)
	}
}

func TestUnixNanos_ClampsToInt64(t *testing.T) {
	tests := []struct {
		in   time.Time
		want int64
	}{
		{time.Unix(0, 12345), 12345},
		{time.Time{}, math.MinInt64 + 1},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	}
	for _, tt := range tests {
		if got := unixNanos(tt.in); got != tt.want {
			t.Errorf("unixNanos(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestNewPart_ExpiryOfEachLifetime(t *testing.T) {
	at := time.Unix(100, 0)
	tests := []struct {
		name        string
		ttl         time.Duration
		wantExpires int64
	}{
		{"positive", time.Second, time.Unix(101, 0).UnixNano()},
		{"zero never expires", 0, never},
		{"negative never expires", -time.Second, never},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPart("v", at, tt.ttl)
			if p.expires != tt.wantExpires || p.ttl != int64(tt.ttl) || p.created != at.UnixNano() {
				t.Fatalf("newPart = %+v", p)
			}
		})
	}
	if p := newPart("", at, time.Second); p.hash != nil {
		t.Fatal("an empty value is a part")
	}
	if p := newPart("v", time.Time{}, time.Second); p.created != nil {
		t.Fatal("a zero create time is stored")
	}
}

func TestNewConfig_RejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"nil clock", WithClock(nil)},
		{"zero timeout", WithTimeout(0)},
		{"prefix with a quote", WithTablePrefix(`x"; DROP TABLE y; --`)},
		{"prefix too long", WithTablePrefix(strings.Repeat("a", 41))},
		{"schema with a dot", WithSchema("a.b")},
		{"zero sweep batch", WithSweepBatch(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewConfig(tt.opt); err == nil {
				t.Fatal("NewConfig succeeded")
			}
		})
	}
	c, err := NewConfig(WithTablePrefix(""), WithSchema("tenant_1"), WithSweepInterval(0))
	if err != nil || c.TablePrefix != "" || c.Schema != "tenant_1" || c.Timeout != DefaultTimeout {
		t.Fatalf("NewConfig = %+v, %v", c, err)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestCommon_ClassifiesConnectionFailures(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), Unavailable},
		{"bad connection", driver.ErrBadConn, Unavailable},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, Unavailable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), Unavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, Unavailable},
		{"network timeout", timeoutErr{}, Unavailable},
		{"caller gave up", fmt.Errorf("query: %w", context.Canceled), Permanent},
		{"syntax error", errors.New("syntax error at or near"), Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Common(tt.err); got != tt.want {
				t.Fatalf("Common(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
