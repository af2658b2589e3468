package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// requestGrace is how long a request started before the end of the run may
// take before its connection times out.
const requestGrace = 5 * time.Second

// redialPause keeps a worker from spinning when the server refuses
// connections.
const redialPause = 10 * time.Millisecond

// Result is the outcome of a run.
type Result struct {
	// Requests counts every completed request, errors included.
	Requests int64
	// Errors counts the requests that did not get a 200 with the expected
	// body, and failed connections.
	Errors int64
	// ErrorKinds counts errors by kind: "status 401", "transport",
	// "connect", "unexpected body".
	ErrorKinds map[string]int64
	// FirstErrorBody is the start of the first non-200 response body.
	FirstErrorBody string
	// FirstNetError is the first failed connection or transport error.
	FirstNetError string
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// P50 and P99 are latency percentiles of the successful requests.
	P50, P99 time.Duration
}

// RPS returns the successful requests per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// String formats the result as one line of key=value fields, the format
// load.sh reads.
func (r Result) String() string {
	return fmt.Sprintf("rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d elapsed_s=%.2f",
		r.RPS(), ms(r.P50), ms(r.P99), r.Errors, r.Requests, r.Elapsed.Seconds())
}

// ErrorSummary describes the errors, most frequent first, for a human.
func (r Result) ErrorSummary() string {
	if r.Errors == 0 {
		return ""
	}
	kinds := slices.SortedFunc(maps.Keys(r.ErrorKinds), func(a, b string) int {
		if c := cmp.Compare(r.ErrorKinds[b], r.ErrorKinds[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, r.ErrorKinds[k])
	}
	if r.FirstErrorBody != "" {
		fmt.Fprintf(&b, "; first error body: %s", r.FirstErrorBody)
	}
	if r.FirstNetError != "" {
		fmt.Fprintf(&b, "; first network error: %s", r.FirstNetError)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Run runs the load described by cfg until cfg.Duration has passed or ctx is
// done, and returns what it measured.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Wait > 0 {
		if err := waitReady(ctx, cfg.Addr, cfg.Wait); err != nil {
			return Result{}, err
		}
	}
	auth := basicAuth(cfg.ClientID, cfg.ClientSecret)
	req := buildRequest(cfg.Addr, "/token", auth, "grant_type=client_credentials&scope=read")
	want := []byte(`"access_token"`)
	if cfg.Mode == ModeIntrospect {
		token, err := fetchToken(cfg.Addr, req)
		if err != nil {
			return Result{}, err
		}
		body := url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()
		req = buildRequest(cfg.Addr, "/introspect", auth, body)
		want = []byte(`"active":true`)
	}
	next := func() []byte { return req }
	if cfg.Mode == ModeTokenDPoP {
		next = dpopRequests(cfg.Addr, auth)
	}
	if cfg.Mode == ModeCode {
		next = codeRequests(cfg.Addr, auth)
		want = []byte(`"id_token":"`)
	}

	start := time.Now()
	end := start.Add(cfg.Duration)
	results := make([]workerResult, cfg.Conns)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = work(ctx, cfg.Addr, next, want, end) })
	}
	wg.Wait()

	res := Result{Elapsed: time.Since(start), ErrorKinds: make(map[string]int64)}
	var all []time.Duration
	for _, w := range results {
		res.Requests += w.requests
		for k, n := range w.errs {
			res.ErrorKinds[k] += n
			res.Errors += n
		}
		if res.FirstErrorBody == "" {
			res.FirstErrorBody = w.firstErrorBody
		}
		if res.FirstNetError == "" {
			res.FirstNetError = w.firstNetError
		}
		all = append(all, w.latencies...)
	}
	slices.Sort(all)
	res.P50 = percentile(all, 50)
	res.P99 = percentile(all, 99)
	return res, nil
}

type workerResult struct {
	requests       int64
	errs           map[string]int64
	firstErrorBody string
	firstNetError  string
	latencies      []time.Duration
}

// work keeps one connection busy until end with the requests of next: a
// request starts only before end, and each waits for its response.
func work(ctx context.Context, addr string, next func() []byte, want []byte, end time.Time) workerResult {
	w := workerResult{errs: make(map[string]int64), latencies: make([]time.Duration, 0, 1<<14)}
	var c *conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for ctx.Err() == nil && time.Now().Before(end) {
		if c == nil {
			var err error
			if c, err = dial(addr); err != nil {
				w.requests++
				w.errs["connect"]++
				w.netError(err)
				time.Sleep(redialPause)
				continue
			}
			if err := c.nc.SetDeadline(end.Add(requestGrace)); err != nil {
				c.Close()
				c = nil
				continue
			}
		}
		req := next()
		t0 := time.Now()
		resp, err := c.roundTrip(req)
		d := time.Since(t0)
		w.requests++
		switch {
		case err != nil:
			w.errs["transport"]++
			w.netError(err)
			c.Close()
			c = nil
			continue
		case resp.status != 200:
			w.errs[fmt.Sprintf("status %d", resp.status)]++
			if w.firstErrorBody == "" {
				w.firstErrorBody = printable(resp.body, 200)
			}
		case !bytes.Contains(resp.body, want):
			// A 200 body may hold a token: count it, never show it.
			w.errs["unexpected body"]++
		default:
			w.latencies = append(w.latencies, d)
		}
		if resp.close {
			c.Close()
			c = nil
		}
	}
	return w
}

func (w *workerResult) netError(err error) {
	if w.firstNetError == "" {
		w.firstNetError = err.Error()
	}
}

// fetchToken gets one access token for the introspection run.
func fetchToken(addr string, tokenReq []byte) (string, error) {
	c, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.nc.SetDeadline(time.Now().Add(requestGrace)); err != nil {
		return "", fmt.Errorf("loadgen: %w", err)
	}
	resp, err := c.roundTrip(tokenReq)
	if err != nil {
		return "", err
	}
	if resp.status != 200 {
		return "", fmt.Errorf("loadgen: token request for introspection got status %d: %s", resp.status, printable(resp.body, 200))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.body, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("loadgen: token response for introspection has no access_token")
	}
	return tok.AccessToken, nil
}

// waitReady waits until addr accepts a connection, for at most wait.
func waitReady(ctx context.Context, addr string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadgen: %s did not accept connections within %s: %w", addr, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// basicAuth is the Authorization header value of client_secret_basic: the
// id and secret form-encoded, then base64 (RFC 6749 2.3.1).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// buildRequest serializes a form POST once; every request of a run is the
// same bytes.
func buildRequest(addr, path, auth, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&b, "Host: %s\r\n", addr)
	fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	b.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
	b.WriteString("Accept: application/json\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.WriteString(body)
	return b.Bytes()
}

// printable returns at most n bytes of b with control characters replaced.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, string(b))
}
