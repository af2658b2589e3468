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
// "xxxxx", for logs. It recognises the same schemes as ParseStoreURL, in any
// case, and hides the value of every query parameter whose name holds
// "pass" or "pwd" however the query is written.
func RedactStore(s string) string {
	scheme, rest, _ := strings.Cut(s, ":")
	switch strings.ToLower(scheme) {
	case "mysql", "mariadb":
		if !strings.HasPrefix(rest, "//") {
			// The driver's format: user:password@protocol(address)/db?params,
			// split as the driver does: the database and parameters follow
			// the last '/', the credentials end at the last '@' before it.
			head, tail := rest, ""
			if slash := strings.LastIndex(rest, "/"); slash >= 0 {
				head, tail = rest[:slash], rest[slash:]
			}
			if at := strings.LastIndex(head, "@"); at >= 0 {
				if user, _, hasPw := strings.Cut(head[:at], ":"); hasPw {
					head = user + ":xxxxx" + head[at:]
				}
			}
			if db, query, hasQuery := strings.Cut(tail, "?"); hasQuery {
				tail = db + "?" + redactPasswords(query)
			}
			return scheme + ":" + head + tail
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		// A setting that does not parse may hold a password anywhere.
		if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.ContainsAny(scheme, "/@?") {
			return scheme + ":(unparsable, hidden)"
		}
		return "(unparsable, hidden)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	u.RawQuery = redactPasswords(u.RawQuery)
	u.ForceQuery = false
	return u.String()
}

// redactPasswords replaces the value of every parameter of a raw query whose
// name, escaped or not, holds "pass" or "pwd". It splits on both '&' and
// ';' and never decodes values, so a malformed pair cannot slip through.
func redactPasswords(raw string) string {
	if raw == "" {
		return raw
	}
	pairs := strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' })
	for i, pair := range pairs {
		name, _, hasValue := strings.Cut(pair, "=")
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		name = strings.ToLower(name)
		if strings.Contains(name, "pass") || strings.Contains(name, "pwd") || !hasValue && strings.Contains(strings.ToLower(pair), "pass") {
			key, _, _ := strings.Cut(pair, "=")
			pairs[i] = key + "=xxxxx"
		}
	}
	return strings.Join(pairs, "&")
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
