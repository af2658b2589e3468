package multiprocess

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// sharedIssuer is the one issuer identifier of every process of a test: the
// public URL of the load balancer they stand behind, not any process's own
// address (RFC 8414 2).
const sharedIssuer = "http://localhost:9096"

// sharedSecret is the at-rest secret every process of a test shares: it
// encrypts the signing keys in the shared store (docs/config.md,
// secret_file), and a shared store refuses to start without one.
const sharedSecret = "multiprocess-test-at-rest-secret-0123456789"

// Bounds of the process life cycle.
const (
	startTimeout = 30 * time.Second // from exec to a healthy /healthz
	stopTimeout  = 10 * time.Second // from SIGTERM to exit, then SIGKILL
)

// fixture is the client and the user the configuration registers, with
// fresh random credentials for each test.
type fixture struct {
	clientID     string
	clientSecret string
	redirectURI  string
	username     string
	password     string
}

func newFixture() fixture {
	return fixture{
		clientID:     "mp-" + randomHex(4),
		clientSecret: randomHex(16),
		// Never contacted: the tests read the code from the Location.
		redirectURI: "http://127.0.0.1:9/callback",
		username:    "alice",
		password:    randomHex(12),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// The YAML file of docs/config.md, as much of it as the tests set.
type fileConfig struct {
	Issuer       string        `yaml:"issuer"`
	Listen       string        `yaml:"listen"`
	Store        string        `yaml:"store"`
	RefreshToken refreshConfig `yaml:"refresh_token"`
	Clients      []clientFile  `yaml:"clients"`
	Users        []userFile    `yaml:"users"`
}

type refreshConfig struct {
	Rotate bool `yaml:"rotate"`
}

type clientFile struct {
	ID                      string   `yaml:"id"`
	Secret                  string   `yaml:"secret"`
	RedirectURIs            []string `yaml:"redirect_uris"`
	GrantTypes              []string `yaml:"grant_types"`
	Scopes                  []string `yaml:"scopes"`
	TokenEndpointAuthMethod string   `yaml:"token_endpoint_auth_method"`
}

type userFile struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// writeConfig writes the configuration file that every process of a test
// shares: one issuer, one store, the fixture's client and user. The listen
// address is left to OAUTH2D_LISTEN, one per process.
func writeConfig(t *testing.T, fx fixture, store string) string {
	t.Helper()
	cfg := fileConfig{
		Issuer:       sharedIssuer,
		Listen:       "127.0.0.1:9096",
		Store:        store,
		RefreshToken: refreshConfig{Rotate: true},
		Clients: []clientFile{{
			ID:                      fx.clientID,
			Secret:                  fx.clientSecret,
			RedirectURIs:            []string{fx.redirectURI},
			GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
			Scopes:                  []string{"read", "write"},
			TokenEndpointAuthMethod: "client_secret_basic",
		}},
		Users: []userFile{{Username: fx.username, Password: fx.password}},
	}
	data, err := yaml.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "oauth2d.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// process is one running oauth2d.
type process struct {
	t    *testing.T
	name string
	url  string // http://127.0.0.1:PORT, its own address
	cmd  *exec.Cmd
	log  *logSink
	done chan struct{} // closed when the process has exited
	err  error         // of Wait, once done is closed
}

// spawn starts oauth2d with the configuration file, listening on a port of
// the kernel's choice (OAUTH2D_LISTEN=127.0.0.1:0); waitReady then learns
// the port from the log. The process is stopped when the test ends.
func spawn(t *testing.T, name, bin, config string) *process {
	t.Helper()
	sink := newLogSink()
	cmd := exec.Command(bin, "-config", config, "-log-format", "json")
	cmd.Env = append(environWithout("OAUTH2D_"), "OAUTH2D_LISTEN=127.0.0.1:0", "OAUTH2D_SECRET="+sharedSecret)
	cmd.Dir = t.TempDir()
	cmd.Stdout = sink
	cmd.Stderr = sink
	cmd.SysProcAttr = procAttr()
	p := &process{t: t, name: name, cmd: cmd, log: sink, done: make(chan struct{})}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the log of %s:\n%s", name, sink.tail(40))
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

// waitReady waits until the process serves and its /healthz answers 200.
func (p *process) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(startTimeout)
	select {
	case addr := <-p.log.listen:
		p.url = "http://" + addr
	case <-p.done:
		p.t.Fatalf("%s exited before serving: %v", p.name, p.err)
	case <-time.After(time.Until(deadline)):
		p.t.Fatalf("%s did not log its listening address within %v", p.name, startTimeout)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: /healthz not 200 within %v (last: %v)", p.name, startTimeout, statusOrErr(resp, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start spawns the processes at once, so that they open and migrate the
// store concurrently as a rolling deployment would, and waits for each.
func start(t *testing.T, bin, config string, names ...string) []*process {
	t.Helper()
	ps := make([]*process, len(names))
	for i, n := range names {
		ps[i] = spawn(t, n, bin, config)
	}
	for _, p := range ps {
		p.waitReady()
	}
	return ps
}

// stop sends SIGTERM and waits for the graceful shutdown; a process still
// running after stopTimeout is killed and the test fails. A process that
// exits with an error at SIGTERM fails the test too.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Errorf("%s: exit after SIGTERM: %v", p.name, p.err)
		}
	case <-time.After(stopTimeout):
		p.t.Errorf("%s: still running %v after SIGTERM; sending SIGKILL", p.name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits until
// the process is gone.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("%s: SIGKILL: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.t.Fatalf("%s: still running %v after SIGKILL", p.name, stopTimeout)
	}
}

// environWithout is the test's environment less the variables that start
// with prefix.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

func statusOrErr(resp *http.Response, err error) any {
	if err != nil {
		return err
	}
	if resp == nil {
		return "no response"
	}
	return resp.Status
}

// logSink keeps a process's output (oauth2d never logs a secret, a token
// or a code) and reports the address of the "oauth2d started" line.
type logSink struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	listen  chan string
	found   bool
}

func newLogSink() *logSink { return &logSink{listen: make(chan string, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all.Write(p)
	if s.found {
		return len(p), nil
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		var rec struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(s.partial[:i], &rec) == nil && rec.Msg == "oauth2d started" && rec.Listen != "" {
			s.found = true
			s.listen <- rec.Listen
			s.partial = nil
			break
		}
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

// tail returns the last n lines of the output.
func (s *logSink) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s.all.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// withTimeout is a context for one step of a test.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
