package oauth2d

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procStatusKiB reads a "Name: N kB" line of /proc/PID/status.
func procStatusKiB(pid int, name string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// TestBinary_TwoHundredConcurrentFailedLoginsStayUnder512MiB runs the
// oauth2d command (built without the race detector, with the default
// argon2id parameters: 64 MiB a verification) and drives 200 concurrent
// failed sign-ins at it through the password grant, with distinct
// usernames so that no throttle applies. It reports the server's peak
// resident memory (VmHWM), which the bound on concurrent hashing keeps
// under 512 MiB; the answers are the failure, or 503
// temporarily_unavailable for the attempts that waited too long for a turn.
// The server is killed past 1.5 GiB, so that a regression cannot take the
// machine's memory.
func TestBinary_TwoHundredConcurrentFailedLoginsStayUnder512MiB(t *testing.T) {
	if _, err := procStatusKiB(os.Getpid(), "VmHWM"); err != nil {
		t.Skipf("peak RSS is read from /proc/PID/status, which this system lacks: %v", err)
	}
	config := filepath.Join(t.TempDir(), "oauth2d.yaml")
	if err := os.WriteFile(config, []byte(`
store: memory
grants: {password: true}
clients:
  - id: web-app
    secret: `+testClientSecret+`
    grant_types: [password]
users:
  - username: alice
    password: `+testPassword+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, addr, logs := startBinary(t, buildBinary(t), nil, "-config", config)
	pid := cmd.Process.Pid
	stop := make(chan struct{})
	killed := make(chan int64, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if rss, err := procStatusKiB(pid, "VmRSS"); err == nil && rss > 1536*1024 {
				_ = cmd.Process.Kill()
				killed <- rss
				return
			}
		}
	}()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 60 * time.Second}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			form := url.Values{"grant_type": {"password"}, "username": {fmt.Sprintf("nobody-%d", i)}, "password": {"wrong"}}
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testClientID, testClientSecret)
			kind := "other"
			if resp, err := c.Do(req); err == nil {
				body := readBody(t, resp)
				switch {
				case resp.StatusCode == http.StatusBadRequest && strings.Contains(body, `"invalid_grant"`):
					kind = "failed"
				case resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, `"temporarily_unavailable"`):
					kind = "busy"
				}
			}
			mu.Lock()
			counts[kind]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	select {
	case rss := <-killed:
		t.Fatalf("the server reached %d MiB resident and was stopped", rss/1024)
	default:
	}
	peak, err := procStatusKiB(pid, "VmHWM")
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	t.Logf("200 concurrent failed logins: peak RSS %d MiB; %d answered invalid_grant, %d temporarily_unavailable, %d other, in %.1fs",
		peak/1024, counts["failed"], counts["busy"], counts["other"], time.Since(began).Seconds())
	if peak >= 512*1024 {
		t.Fatalf("peak RSS %d MiB, want under 512 MiB", peak/1024)
	}
	if counts["other"] != 0 || counts["failed"] == 0 {
		t.Fatalf("answers: %v", counts)
	}
}
