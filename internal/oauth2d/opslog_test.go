package oauth2d

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRequestID_TakenWhenSaneMadeOtherwiseAndEchoed(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	get := func(id string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		return resp.Header.Get("X-Request-Id")
	}
	if got := get("trace-7f3a:01/B+x=@y.z~_"); got != "trace-7f3a:01/B+x=@y.z~_" {
		t.Fatalf("a sane X-Request-Id is echoed as %q", got)
	}
	made := map[string]bool{}
	for _, bad := range []string{"", "has space", "tab\tinside", "<script>", strings.Repeat("a", 129), "caf\u00e9"} {
		got := get(bad)
		if got == "" || got == bad || made[got] || !saneRequestID(got) {
			t.Fatalf("for X-Request-Id %q the response carries %q, want a fresh ID", bad, got)
		}
		made[got] = true
	}
	logs := srv.Logs.String()
	if !regexp.MustCompile(`path=/healthz status=200 duration=\S+ peer=127\.0\.0\.1:\d+ request_id="trace-7f3a:01/B\+x=@y\.z~_"`).MatchString(logs) {
		t.Fatalf("the access log lacks the peer and the request ID:\n%s", logs)
	}
	for id := range made {
		if !strings.Contains(logs, "request_id="+id) {
			t.Fatalf("the made ID %s is not in the log", id)
		}
	}
	if strings.Contains(logs, "<script>") || strings.Contains(logs, "has space") {
		t.Fatal("an insane request ID reached the log")
	}
}

// jsonLines parses every line of a JSON log, failing on any other.
func jsonLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func TestMain_GoRedisLogLinesStayJSON(t *testing.T) {
	// Nothing listens on port 1: go-redis logs its failed dials itself.
	code, logs := runMain(t, map[string]string{EnvListen: "127.0.0.1:0", EnvStore: "redis://127.0.0.1:1/0", EnvSecret: secretOne})
	if code != 1 {
		t.Fatalf("exit %d with an unreachable store\n%s", code, logs)
	}
	found := false
	for _, m := range jsonLines(t, logs) {
		if m["component"] == "go-redis" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no go-redis line in the log:\n%s", logs)
	}
}

func TestMain_MetricsOnTheirOwnAddress(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "oauth2d.yaml")
	if err := os.WriteFile(config, []byte(`
store: memory
metrics_listen: 127.0.0.1:0
clients:
  - id: svc
    secret: svc-secret-4e1f
    grant_types: [client_credentials]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	signals := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- Main(Env{Args: []string{"-config", config, "-log-format", "json"}, Stdout: io.Discard, Stderr: stderr,
			LookupEnv: func(k string) (string, bool) { return map[string]string{EnvListen: "127.0.0.1:0"}[k], k == EnvListen },
			Signals:   signals, Ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exit %d\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	defer func() {
		signals <- syscall.SIGTERM
		if code := <-done; code != 0 {
			t.Errorf("exit %d", code)
		}
	}()
	// The log is written out every 100ms: wait for the start-up line.
	var metricsAddr string
	for deadline := time.Now().Add(10 * time.Second); metricsAddr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range jsonLines(t, stderr.String()) {
			if m["msg"] == "oauth2d started" {
				metricsAddr, _ = m["metrics_listen"].(string)
			}
		}
	}
	if metricsAddr == "" || metricsAddr == addr {
		t.Fatalf("the start-up line does not name the metrics address:\n%s", stderr.String())
	}
	status := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readBody(t, resp)
	}
	if st, body := status("http://" + metricsAddr + "/metrics"); st != http.StatusOK || !strings.Contains(body, "oauth2d_http_request_duration_seconds") {
		t.Fatalf("metrics address: %d", st)
	}
	if st, body := status("http://" + addr + "/metrics"); st != http.StatusNotFound || strings.Contains(body, "oauth2d_") {
		t.Fatalf("the public address serves /metrics: %d", st)
	}
}

func TestMain_DemoLineIsTheOnlyOneWithASecret(t *testing.T) {
	code, logs := runMain(t, map[string]string{EnvListen: "127.0.0.1:0", EnvStore: "memory"})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs)
	}
	var withSecret []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(line, DemoClientSecret) || strings.Contains(line, `"password":"`+DemoPassword+`"`) {
			withSecret = append(withSecret, line)
		}
	}
	if len(withSecret) != 1 || !strings.Contains(withSecret[0], "for development only") || !strings.Contains(withSecret[0], "curl -s -u 000000:999999") {
		t.Fatalf("lines with the demo secret: %q", withSecret)
	}
}
