package oauth2d

import (
	"bufio"
	"context"
	stderrors "errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2/internal/secret"
)

// Version is the version `oauth2d -version` prints; set it at build time
// with -ldflags "-X github.com/oauth2d/oauth2/internal/oauth2d.Version=v1.2.3".
// When empty, the module version and VCS revision of the build are used.
var Version = ""

// HTTP server limits.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 32 << 10
	// shutdownTimeout bounds the drain of in-flight requests at SIGTERM.
	shutdownTimeout = 30 * time.Second
)

// Env is what Main reads from its process.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads environment variables (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Signals, when set, stops the server instead of SIGINT and SIGTERM.
	Signals <-chan os.Signal
	// Hangup, when set, reloads the TLS certificate instead of SIGHUP
	// (tls.go).
	Hangup <-chan os.Signal
	// Ready, when set, receives the listening address once the server
	// serves.
	Ready chan<- string
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	return Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}

const usage = `Usage:
  oauth2d [-config FILE] [-log-format text|json]   serve
  oauth2d -check-config FILE                       validate a configuration file
  oauth2d hash-password < password.txt             print an argon2id hash for password_hash or secret_hash
  oauth2d keys rotate [-config FILE] [-delay D]    schedule a new signing key (oauth2d keys -h)
  oauth2d clients create|list|get|delete ...      manage clients through the admin API (oauth2d clients)
  oauth2d users create|passwd|disable|list ...    manage users through the admin API (oauth2d users)
  oauth2d grants list|revoke ...                  list and revoke users' grants through the admin API (oauth2d grants)
  oauth2d -version

Without -config, oauth2d serves the built-in development configuration:
issuer http://localhost:9096 on 127.0.0.1:9096, SQLite file ./oauth2d.db,
demo client 000000/999999 and demo user test/test.
Environment: OAUTH2D_LISTEN, OAUTH2D_ISSUER, OAUTH2D_STORE override the configuration.

Flags:
`

// Main runs the oauth2d command and returns its exit status.
func Main(env Env) int {
	if len(env.Args) > 0 && env.Args[0] == "hash-password" {
		return hashPassword(env)
	}
	if len(env.Args) > 0 && env.Args[0] == "keys" {
		return keysCommand(env)
	}
	if len(env.Args) > 0 {
		if cmd, ok := adminCommands[env.Args[0]]; ok { // cli_admin.go
			return cmd(env)
		}
	}
	fs := flag.NewFlagSet("oauth2d", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, usage)
		fs.PrintDefaults()
	}
	configFile := fs.String("config", "", "read the configuration from this YAML `file`")
	checkFile := fs.String("check-config", "", "validate this YAML configuration `file` and exit 0 (valid) or 1")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(env.Args); err != nil {
		if stderrors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "oauth2d: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *showVersion {
		fmt.Fprintln(env.Stdout, "oauth2d", version())
		return 0
	}
	if *checkFile != "" {
		return checkConfig(env, *checkFile)
	}
	var newHandler func(io.Writer) slog.Handler
	switch *logFormat {
	case "text":
		newHandler = func(w io.Writer) slog.Handler { return newLogHandler(w, false) }
	case "json":
		newHandler = func(w io.Writer) slog.Handler { return newLogHandler(w, true) }
	default:
		fmt.Fprintf(env.Stderr, "oauth2d: -log-format must be text or json\n")
		return 2
	}
	log := slog.New(newHandler(env.Stderr))

	cfg, err := loadFromEnv(env, *configFile)
	if err != nil {
		log.Error("invalid configuration", "file", *configFile, "err", err)
		fmt.Fprintf(env.Stderr, "oauth2d: invalid configuration:\n%s\n", indent(err.Error()))
		return 1
	}
	// While serving, the log is buffered and written out every 100ms, so
	// that the line per request does not cost a system call each.
	out := newFlushWriter(env.Stderr, logFlushInterval)
	defer out.Close()
	handler := newHandler(out)
	log = slog.New(handler)
	cfg.Logger = log
	// go-redis logs on its own (a failed dial, a dropped connection):
	// through the server's handler, so that -log-format json stays JSON.
	goredis.SetLogger(redisLogger{log: log})
	return serve(env, cfg, log, handler)
}

// loadFromEnv returns the configuration of the file, or the built-in one
// when file is "", with the environment applied and validated.
func loadFromEnv(env Env, file string) (Config, error) {
	var cfg Config
	if file == "" {
		cfg = Default()
	} else {
		data, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if cfg, err = ParseConfig(data); err != nil {
			return Config{}, err
		}
	}
	lookup := env.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	cfg.ApplyEnv(lookup)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// checkConfig validates a configuration file, with the environment
// applied, and reports the result.
func checkConfig(env Env, file string) int {
	cfg, err := loadFromEnv(env, file)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: invalid configuration:\n%s\n", file, indent(err.Error()))
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s: valid (%d clients, %d users, store %s)\n", file, len(cfg.Clients), len(cfg.Users), RedactStore(cfg.Store))
	return 0
}

// maxPasswordBytes bounds what hash-password reads.
const maxPasswordBytes = 4096

// hashPassword reads a password from the first line of stdin and prints
// its argon2id hash.
func hashPassword(env Env) int {
	if len(env.Args) > 1 {
		fmt.Fprintln(env.Stderr, "oauth2d hash-password: reads the password from stdin and takes no arguments")
		return 2
	}
	line, err := bufio.NewReaderSize(io.LimitReader(env.Stdin, maxPasswordBytes+1), maxPasswordBytes+1).ReadString('\n')
	if err != nil && !stderrors.Is(err, io.EOF) {
		fmt.Fprintln(env.Stderr, "oauth2d hash-password: cannot read stdin")
		return 1
	}
	if len(line) > maxPasswordBytes {
		fmt.Fprintf(env.Stderr, "oauth2d hash-password: the password is longer than %d bytes\n", maxPasswordBytes)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		fmt.Fprintln(env.Stderr, "oauth2d hash-password: no password on stdin (try: echo -n 'secret' | oauth2d hash-password)")
		return 1
	}
	h, err := secret.Hash(password)
	if err != nil {
		fmt.Fprintln(env.Stderr, "oauth2d hash-password: cannot hash")
		return 1
	}
	fmt.Fprintln(env.Stdout, h)
	return 0
}

// redisLogger passes go-redis's own log lines to slog.
type redisLogger struct{ log *slog.Logger }

// Printf logs one line of go-redis as a warning: it logs only what went
// wrong.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	l.log.WarnContext(ctx, msg, "component", "go-redis")
}

// version returns Version, or what the build recorded.
func version() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + info.GoVersion
}

// serveAdmin serves the admin API on admin_listen, when set: HTTPS with a
// required client certificate when admin_client_ca_file is set, plain
// HTTP otherwise (Validate allows that on loopback addresses, or with
// admin_allow_remote). It returns the server and its address.
func (a *App) serveAdmin(handler slog.Handler) (*http.Server, string, error) {
	h := a.AdminHandler()
	if h == nil {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", a.cfg.AdminListen)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
		TLSConfig:         a.AdminTLSConfig(),
	}
	go func() {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !stderrors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server stopped", "err", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}

// serve runs the server until a signal, then drains in-flight requests.
func serve(env Env, cfg Config, log *slog.Logger, handler slog.Handler) int {
	app, err := New(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("cannot listen", "listen", cfg.Listen, "err", err)
		return 1
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ConnContext:       app.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	var metricsSrv *http.Server
	metricsAddr := ""
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			log.Error("cannot listen", "metrics_listen", cfg.MetricsListen, "err", err)
			return 1
		}
		metricsAddr = mln.Addr().String()
		metricsSrv = &http.Server{
			Handler:           app.MetricsHandler(),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
		}
		go func() {
			if err := metricsSrv.Serve(mln); err != nil && !stderrors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
	}
	adminSrv, adminAddr, err := app.serveAdmin(handler)
	if err != nil {
		ln.Close()
		if metricsSrv != nil {
			_ = metricsSrv.Close()
		}
		log.Error("cannot listen", "admin_listen", cfg.AdminListen, "err", err)
		return 1
	}
	attrs := []any{
		"version", version(),
		"issuer", app.Issuer(),
		"listen", ln.Addr().String(),
		"store", RedactStore(cfg.Store),
		"access_token_format", cfg.AccessToken.Format,
		"clients", len(cfg.Clients),
		"users", len(cfg.Users),
	}
	if metricsAddr != "" {
		attrs = append(attrs, "metrics_listen", metricsAddr)
	}
	if adminAddr != "" {
		attrs = append(attrs, "admin_listen", adminAddr)
	}
	attrs = append(attrs, app.tlsLogAttrs()...)
	if gc, set := TuneGC(app, env.LookupEnv); set {
		attrs = append(attrs, "gogc", gc)
	}
	log.Info("oauth2d started", attrs...)
	if cfg.IsDemo() {
		// The one line that prints a secret: the well-known demo
		// credentials, so that a developer can try the server at once.
		log.Warn("demo credentials, for development only; get a token: curl -s -u "+DemoClientID+":"+DemoClientSecret+
			" -d grant_type=client_credentials -d scope=read "+app.Issuer()+"/token",
			"client_id", DemoClientID, "client_secret", DemoClientSecret,
			"username", DemoUsername, "password", DemoPassword)
	}

	signals := env.Signals
	if signals == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(ch)
		signals = ch
	}
	stopHangup := app.reloadOnHangup(env.Hangup) // TLS reload (tls.go)
	defer stopHangup()
	served := make(chan error, 1)
	go func() { served <- app.serveListener(srv, ln) }()
	if env.Ready != nil {
		env.Ready <- ln.Addr().String()
	}
	select {
	case err := <-served:
		log.Error("server stopped", "err", err)
		return 1
	case sig := <-signals:
		log.Info("shutting down: draining in-flight requests", "signal", sig.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(ctx)
	}
	if adminSrv != nil {
		_ = adminSrv.Shutdown(ctx)
	}
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("shutdown: requests still in flight were cut", "err", err)
		return 1
	}
	if err := app.Close(); err != nil {
		log.Error("closing the store", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
