package oauth2d

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
)

// Store kinds of the store setting.
const (
	StoreMemory   = "memory"
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
	StoreMySQL    = "mysql"
	StoreRedis    = "redis"
)

// StoreURL is a parsed store setting.
type StoreURL struct {
	// Kind is one of the Store* constants.
	Kind string
	// DSN is what the store's constructor gets: the SQLite file path, or
	// the URL of the database server.
	DSN string
}

// ParseStoreURL parses the store setting: "memory:" (or "memory"), "sqlite:PATH",
// "postgres://…" (or "postgresql://…"), "mysql://user:pass@host:port/db"
// (or "mysql:" followed by a DSN in the driver's format,
// user:pass@tcp(host:port)/db) and "redis://…" (or "rediss://…"). Its errors never repeat the setting,
// which may hold a password.
func ParseStoreURL(s string) (StoreURL, error) {
	if s == StoreMemory {
		return StoreURL{Kind: StoreMemory}, nil
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return StoreURL{}, stderrors.New("not a store URL (memory:, sqlite:PATH, postgres://…, mysql://…, redis://…)")
	}
	switch strings.ToLower(scheme) {
	case "memory":
		if rest != "" {
			return StoreURL{}, stderrors.New("memory: takes no parameters")
		}
		return StoreURL{Kind: StoreMemory}, nil
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return StoreURL{}, stderrors.New("sqlite: needs a file path, for example sqlite:./oauth2d.db")
		}
		return StoreURL{Kind: StoreSQLite, DSN: path}, nil
	case "postgres", "postgresql":
		if err := checkServerURL(s); err != nil {
			return StoreURL{}, fmt.Errorf("postgres: %w", err)
		}
		return StoreURL{Kind: StorePostgres, DSN: s}, nil
	case "mysql", "mariadb":
		if !strings.HasPrefix(rest, "//") {
			// The driver's own format: mysql:user:password@tcp(host:3306)/db.
			if !strings.Contains(rest, "/") {
				return StoreURL{}, stderrors.New("mysql: expected mysql://user:password@host:port/dbname or mysql:user:password@tcp(host:port)/dbname")
			}
			return StoreURL{Kind: StoreMySQL, DSN: rest}, nil
		}
		if err := checkServerURL(s); err != nil {
			return StoreURL{}, fmt.Errorf("mysql: %w", err)
		}
		return StoreURL{Kind: StoreMySQL, DSN: s}, nil
	case "redis", "rediss":
		if err := checkServerURL(s); err != nil {
			return StoreURL{}, fmt.Errorf("redis: %w", err)
		}
		return StoreURL{Kind: StoreRedis, DSN: s}, nil
	}
	return StoreURL{}, stderrors.New("unknown store kind (memory:, sqlite:PATH, postgres://…, mysql://…, redis://…)")
}

func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return stderrors.New("not a URL")
	}
	if u.Host == "" {
		return stderrors.New("the URL has no host")
	}
	return nil
}

// RedactStore returns the store setting with any password replaced by
// "xxxxx", for logs.
func RedactStore(s string) string {
	if rest, ok := strings.CutPrefix(s, "mysql:"); ok && !strings.HasPrefix(rest, "//") {
		// The driver's format: user:password@protocol(address)/db.
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
				return "mysql:" + user + ":xxxxx" + rest[at:]
			}
		}
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// A setting that does not parse may hold a password anywhere.
		if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
			return scheme + ":(unparsable, hidden)"
		}
		return "(unparsable, hidden)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch strings.ToLower(k) {
		case "password", "pass", "pwd", "sslpassword":
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// pinger is implemented by stores that can check their connection.
type pinger interface {
	Ping(ctx context.Context) error
}

// healthProbeKey is read from the KVStore by /healthz when the store has no
// Ping method: a miss proves the store answers.
const healthProbeKey = "oauth2d/healthz-probe"

// checkStore reports whether the store answers within timeout.
func (a *App) checkStore(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p, ok := a.rawStore.(pinger); ok {
		return p.Ping(ctx)
	}
	_, err := a.kv.Get(ctx, healthProbeKey)
	if err == nil || stderrors.Is(err, oauth2.ErrNotFound) {
		return nil
	}
	return err
}
