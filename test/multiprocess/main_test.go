package multiprocess

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// workDir holds the binary the tests build; TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oauth2d-multiprocess-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "multiprocess:", err)
		os.Exit(1)
	}
	workDir = dir
	// go-redis logs every refused dial of the outage test to stderr; the
	// test checks what the server answers instead.
	goredis.SetLogger(quietLog{})
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// oauth2dBinary builds cmd/oauth2d once for the whole package (with the go
// command of the toolchain that runs the tests) and returns its path.
func oauth2dBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		goBin, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("no go command on PATH: %w", err)
			return
		}
		gomod, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
		if err != nil {
			build.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		path := filepath.Join(workDir, "oauth2d")
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", path, "./cmd/oauth2d")
		cmd.Dir = root
		build.out, build.err = cmd.CombinedOutput()
		build.path = path
	})
	if build.err != nil {
		t.Fatalf("building cmd/oauth2d: %v\n%s", build.err, build.out)
	}
	return build.path
}

// quietLog discards go-redis's internal log.
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}
