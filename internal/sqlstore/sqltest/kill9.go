package sqltest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Variables of the child process of Kill9.
const (
	envKill9Child = "OAUTH2_SQLTEST_KILL9_CHILD"
	envKill9Arg   = "OAUTH2_SQLTEST_KILL9_ARG"
)

// Kill9 checks that a write answered by the store is committed whatever
// happens to the process afterwards: it runs the test binary again as a
// child (running only test) whose 32 goroutines issue tokens and exchange
// codes through a store opened by open(arg), printing each once the store
// has answered, kills it with SIGKILL while batches are in flight, and
// then finds, through a store opened by open(arg) in this process, every
// token printed and every printed exchange's code used. newArg, called in
// the parent only, makes arg: where the store's tables are.
//
// The test calls Kill9 first thing: in the child, Kill9 runs the writers
// and never returns to the test.
func Kill9(t *testing.T, test string, newArg func(t *testing.T) string, open func(ctx context.Context, arg string) (*sqlstore.Store, error)) {
	if os.Getenv(envKill9Child) == test {
		kill9Child(os.Getenv(envKill9Arg), open)
		os.Exit(0)
	}
	arg := newArg(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKill9Child+"="+test, envKill9Arg+"="+arg)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	var issued, exchanged [][]string
	var batches, writes int64
	read := func(l string) {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "issued":
			issued = append(issued, f[1:])
		case len(f) == 4 && f[0] == "exchanged":
			exchanged = append(exchanged, f[1:])
		case len(f) == 3 && f[0] == "batches":
			_, _ = fmt.Sscan(f[1]+" "+f[2], &batches, &writes)
		case len(f) > 0 && f[0] == "error":
			t.Fatalf("child: %s", l)
		}
	}
	next := func() (string, bool) {
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "@@ "); ok {
				return l, true
			}
		}
		return "", false
	}
	for len(issued)+len(exchanged) < 1500 {
		l, ok := next()
		if !ok {
			t.Fatalf("child stopped after %d lines", len(issued)+len(exchanged))
		}
		read(l)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines already in the pipe were printed after their write returned
	// too.
	for {
		l, ok := next()
		if !ok {
			break
		}
		read(l)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if batches == 0 || writes <= batches {
		t.Fatalf("the child reported %d writes in %d batches: no commit was shared", writes, batches)
	}

	ctx := t.Context()
	s, err := open(ctx, arg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range issued {
		if _, err := s.GetByAccess(ctx, r[0]); err != nil {
			t.Fatalf("access token answered before the kill: %v", err)
		}
		if _, err := s.GetByRefresh(ctx, r[1]); err != nil {
			t.Fatalf("refresh token answered before the kill: %v", err)
		}
	}
	for _, r := range exchanged {
		var re *oauth2.ReusedError
		if _, err := s.GetByCode(ctx, r[0]); !errors.As(err, &re) || re.GrantID != r[1] {
			t.Fatalf("code exchanged before the kill: %v, want a *ReusedError of its grant", err)
		}
		if _, err := s.GetByAccess(ctx, r[2]); err != nil {
			t.Fatalf("access token of an exchange answered before the kill: %v", err)
		}
	}
	t.Logf("%d records and %d exchanges survived SIGKILL; %d writes had shared %d commits before it",
		len(issued), len(exchanged), writes, batches)
}

// kill9Child is the child of Kill9: 32 writers until killed.
func kill9Child(arg string, open func(ctx context.Context, arg string) (*sqlstore.Store, error)) {
	say := func(format string, args ...any) {
		// One write(2) per line: a line is whole in the pipe or absent.
		fmt.Fprintf(os.Stdout, "@@ "+format+"\n", args...)
	}
	ctx := context.Background()
	s, err := open(ctx, arg)
	if err != nil {
		say("error %v", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				now := time.Now()
				if i%4 == 3 {
					grant := "grant-" + Key()[:8]
					code, tok := Code(now, grant, time.Hour), Tokens(now, grant, time.Hour)
					if err := s.Create(ctx, code); err != nil {
						say("error %v", err)
						return
					}
					if err := s.ExchangeCode(ctx, code.Code, tok); err != nil {
						say("error %v", err)
						return
					}
					say("exchanged %s %s %s", code.Code, grant, tok.Access)
				} else {
					r := Tokens(now, "grant", time.Hour)
					if err := s.Create(ctx, r); err != nil {
						say("error %v", err)
						return
					}
					say("issued %s %s", r.Access, r.Refresh)
				}
				if n.Add(1)%128 == 0 {
					b := s.Batches()
					say("batches %d %d", b.Batches, b.Ops)
				}
			}
		})
	}
	wg.Wait()
}
