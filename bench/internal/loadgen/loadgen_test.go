package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func ms2d(ms ...int) []time.Duration {
	d := make([]time.Duration, len(ms))
	for i, m := range ms {
		d[i] = time.Duration(m) * time.Millisecond
	}
	return d
}

func TestPercentile_NearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no values is zero", nil, 50, 0},
		{"one value is every percentile", ms2d(7), 99, 7 * time.Millisecond},
		{"p50 of an even count is the lower middle", ms2d(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p50 of an odd count is the middle", ms2d(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p99 of 100 values is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p50 of 100 values is the 50th", hundred, 50, 50 * time.Millisecond},
		{"p99 of 10 values is the largest", ms2d(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p100 is the largest", ms2d(1, 2, 3), 100, 3 * time.Millisecond},
		{"p0 is the smallest", ms2d(1, 2, 3), 0, 1 * time.Millisecond},
		{"one slow outlier in 1000 does not move p99", append(make([]time.Duration, 999), time.Second), 99, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseFlags_DefaultsAndValidation(t *testing.T) {
	def := DefaultConfig()
	tests := []struct {
		name    string
		args    []string
		want    Config
		wantErr bool
	}{
		{"defaults: 32 connections for 10s at 127.0.0.1:9190", nil, def, false},
		{"every flag", []string{"-addr", "127.0.0.1:8080", "-mode", "introspect", "-c", "4", "-d", "1s", "-wait", "3s", "-client-id", "a b", "-client-secret", "s:t"},
			Config{Addr: "127.0.0.1:8080", Mode: ModeIntrospect, Conns: 4, Duration: time.Second, Wait: 3 * time.Second, ClientID: "a b", ClientSecret: "s:t"}, false},
		{"a host other than 127.0.0.1 is refused", []string{"-addr", "10.0.0.1:9190"}, Config{}, true},
		{"localhost by name is refused", []string{"-addr", "localhost:9190"}, Config{}, true},
		{"an address without a port is refused", []string{"-addr", "127.0.0.1"}, Config{}, true},
		{"port 0 is refused", []string{"-addr", "127.0.0.1:0"}, Config{}, true},
		{"an unknown mode is refused", []string{"-mode", "revoke"}, Config{}, true},
		{"zero connections are refused", []string{"-c", "0"}, Config{}, true},
		{"too many connections are refused", []string{"-c", "100000"}, Config{}, true},
		{"zero duration is refused: the run must be bounded", []string{"-d", "0s"}, Config{}, true},
		{"negative duration is refused", []string{"-d", "-1s"}, Config{}, true},
		{"a duration over an hour is refused", []string{"-d", "2h"}, Config{}, true},
		{"an empty client id is refused", []string{"-client-id", ""}, Config{}, true},
		{"an unknown flag is refused", []string{"-n", "100"}, Config{}, true},
		{"a stray argument is refused", []string{"http://127.0.0.1:9190/token"}, Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlags(tt.args, io.Discard)
			if tt.wantErr {
				if !errors.Is(err, ErrBadFlag) {
					t.Fatalf("ParseFlags(%q) error = %v, want ErrBadFlag", tt.args, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFlags(%q) = %v", tt.args, err)
			}
			if got != tt.want {
				t.Fatalf("ParseFlags(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestRoundTrip_ReadsLengthChunkedAndCloseDelimitedBodies(t *testing.T) {
	tests := []struct {
		name       string
		response   string
		wantStatus int
		wantBody   string
		wantClose  bool
		wantErr    bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", false, false},
		{"header names are case-insensitive", "HTTP/1.1 401 Unauthorized\r\ncontent-LENGTH: 2\r\nCONNECTION: Close\r\n\r\n{}", 401, "{}", true, false},
		{"chunked with extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", 200, "abcde", false, false},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", true, false},
		{"body until close", "HTTP/1.1 200 OK\r\n\r\nrest", 200, "rest", true, false},
		{"garbage status line", "SMTP ready\r\n\r\n", 0, "", false, true},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 0, "", false, true},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, srv := net.Pipe()
			defer client.Close()
			go func() {
				defer srv.Close()
				br := bufio.NewReader(srv)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(srv, tt.response)
			}()
			c := &conn{nc: client, br: bufio.NewReader(client)}
			resp, err := c.roundTrip(buildRequest("127.0.0.1:1", "/token", "Basic x", "a=b"))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("roundTrip = %+v, want an error", resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tt.wantStatus || string(resp.body) != tt.wantBody || resp.close != tt.wantClose {
				t.Fatalf("roundTrip = (%d, %q, close=%v), want (%d, %q, close=%v)",
					resp.status, resp.body, resp.close, tt.wantStatus, tt.wantBody, tt.wantClose)
			}
		})
	}
}

func TestRun_CountsEveryNon200AsAnError(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		io.WriteString(w, `{"access_token":"x","token_type":"Bearer","expires_in":7200}`)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Addr = strings.TrimPrefix(srv.URL, "http://")
	cfg.Conns = 1
	cfg.Duration = 200 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 4 || res.Errors != res.Requests/2 || res.ErrorKinds["status 401"] != res.Errors {
		t.Fatalf("requests=%d errors=%d kinds=%v: want every second request counted as status 401", res.Requests, res.Errors, res.ErrorKinds)
	}
	if !strings.Contains(res.FirstErrorBody, "invalid_client") || !strings.Contains(res.ErrorSummary(), "status 401") {
		t.Fatalf("summary %q does not show the error", res.ErrorSummary())
	}
}

func TestRun_RefusesTargetsOtherThanLoopback(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = "192.0.2.1:80"
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrBadFlag) {
		t.Fatalf("Run = %v, want ErrBadFlag", err)
	}
}

func TestRun_CountsRefusedConnectionsAndSaysWhy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Conns = 2
	cfg.Duration = 100 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || res.ErrorKinds["connect"] != res.Errors || res.RPS() != 0 {
		t.Fatalf("result %s, kinds %v: want only connect errors", res, res.ErrorKinds)
	}
	if !strings.Contains(res.ErrorSummary(), "refused") {
		t.Fatalf("summary %q does not say the connection was refused", res.ErrorSummary())
	}
}
