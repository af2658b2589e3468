package loadserver

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/oauth2d/oauth2/internal/oauth2d"
)

// standalone is the standalone server's app with its built-in demo
// configuration (client 000000 / 999999 for client_secret_basic, opaque
// tokens), on the memory store or on SQLite in a new temporary file.
func standalone(sqlite bool) (*Server, error) {
	cfg := oauth2d.Default()
	cfg.Issuer = "http://127.0.0.1:9190"
	cfg.Store = "memory:"
	var closers []io.Closer
	if sqlite {
		dir, err := os.MkdirTemp("", "loadserver-sqlite-")
		if err != nil {
			return nil, fmt.Errorf("loadserver: %w", err)
		}
		closers = append(closers, removeAll(dir))
		cfg.Store = "sqlite:" + filepath.Join(dir, "oauth2d.db")
	}
	app, err := oauth2d.New(cfg)
	if err != nil {
		for _, c := range closers {
			c.Close()
		}
		return nil, fmt.Errorf("loadserver: oauth2d: %w", err)
	}
	closers = append(closers, app)
	return &Server{Handler: app.Handler(), closers: closers}, nil
}

// removeAll removes a temporary directory on Close.
type removeAll string

func (d removeAll) Close() error { return os.RemoveAll(string(d)) }
