package oauth2d

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssChildEnv marks the child process of
// TestLogin_TwoHundredConcurrentFailuresStayUnder512MiB.
const rssChildEnv = "OAUTH2D_TEST_RSS_CHILD"

// procStatusKiB reads a "Name: N kB" line of /proc/self/status.
func procStatusKiB(name string) (int64, error) {
	f, err := os.Open("/proc/self/status")
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
	return 0, fmt.Errorf("no %s in /proc/self/status", name)
}

// TestLogin_TwoHundredConcurrentFailuresStayUnder512MiB drives 200
// concurrent failed sign-ins (the password grant, distinct usernames, so
// that no throttle applies) at a server with the default argon2id
// parameters (64 MiB a verification), in a child process of its own whose
// peak resident memory (VmHWM) it reports. The bound on concurrent hashing
// keeps it under 512 MiB; the answers are the failure, or 503
// temporarily_unavailable for the attempts that waited too long for a turn.
// The child stops itself past 1.5 GiB, so that a regression cannot take the
// machine's memory.
func TestLogin_TwoHundredConcurrentFailuresStayUnder512MiB(t *testing.T) {
	if os.Getenv(rssChildEnv) == "1" {
		rssChild(t)
		return
	}
	if _, err := procStatusKiB("VmHWM"); err != nil {
		t.Skipf("peak RSS is read from /proc/self/status, which this system lacks: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLogin_TwoHundredConcurrentFailuresStayUnder512MiB$", "-test.v")
	cmd.Env = append(os.Environ(), rssChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`peak_rss_kib=(\d+) failed=(\d+) busy=(\d+) other=(\d+) seconds=([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the child reported nothing:\n%s", out)
	}
	peak, _ := strconv.ParseInt(string(m[1]), 10, 64)
	t.Logf("200 concurrent failed logins: peak RSS %d MiB; %s answered invalid_grant, %s temporarily_unavailable, %s other, in %ss",
		peak/1024, m[2], m[3], m[4], m[5])
	if peak >= 512*1024 {
		t.Fatalf("peak RSS %d MiB, want under 512 MiB", peak/1024)
	}
	if string(m[4]) != "0" {
		t.Fatalf("%s answers were neither the failure nor temporarily_unavailable", m[4])
	}
}

func rssChild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if rss, err := procStatusKiB("VmRSS"); err == nil && rss > 1536*1024 {
				fmt.Printf("resident memory reached %d MiB: stopping\n", rss/1024)
				os.Exit(3)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	cfg := testConfig(testRedirect)
	cfg.Grants.Password = true
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "password")
	srv := startApp(t, cfg)
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 200}}
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
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
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
	peak, err := procStatusKiB("VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("peak_rss_kib=%d failed=%d busy=%d other=%d seconds=%.1f\n",
		peak, counts["failed"], counts["busy"], counts["other"], time.Since(began).Seconds())
}
