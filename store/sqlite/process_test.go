package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/store/sqlite"
)

// The tests in this file run the test binary again as child processes:
// envChild says what the child does, envPath which database it opens.
const (
	envChild = "OAUTH2_SQLITE_TEST_CHILD"
	envPath  = "OAUTH2_SQLITE_TEST_PATH"
)

// child starts the test binary running only test, as a child of mode on
// the database at path, and kills it when the test ends.
func child(t *testing.T, test, mode, path string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envPath+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
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
	return cmd, stdin, bufio.NewScanner(stdout)
}

// say writes one line of a child's report on stdout, unbuffered: once it
// is written, the operation it reports has returned.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "@@ "+format+"\n", args...)
}

// next returns the child's next report line from sc, skipping the testing
// package's own output.
func next(sc *bufio.Scanner) (string, bool) {
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "@@ "); ok {
			return l, true
		}
	}
	return "", false
}

// TestStore_DurableAcrossKill9 runs a child process that issues tokens and
// exchanges codes as fast as it can, printing each after the store
// returned, kills it with SIGKILL mid-stream, reopens the file, and finds
// every token it printed: what was answered is on disk (docs/architecture.md section
// 4), and every exchanged code is still known as used.
func TestStore_DurableAcrossKill9(t *testing.T) {
	if os.Getenv(envChild) == "issue" {
		issueUntilKilled(os.Getenv(envPath))
		return
	}
	path := filepath.Join(t.TempDir(), "oauth2.db")
	cmd, _, out := child(t, "TestStore_DurableAcrossKill9", "issue", path)
	var issued, exchanged [][]string
	for len(issued)+len(exchanged) < 300 {
		l, ok := next(out)
		if !ok {
			t.Fatalf("child stopped after %d lines", len(issued)+len(exchanged))
		}
		f := strings.Fields(l)
		switch f[0] {
		case "issued":
			issued = append(issued, f[1:])
		case "exchanged":
			exchanged = append(exchanged, f[1:])
		default:
			t.Fatalf("child: %s", l)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines already in the pipe were printed after their operation
	// returned too.
	for {
		l, ok := next(out)
		if !ok {
			break
		}
		f := strings.Fields(l)
		if f[0] == "issued" && len(f) == 3 {
			issued = append(issued, f[1:])
		} else if f[0] == "exchanged" && len(f) == 4 {
			exchanged = append(exchanged, f[1:])
		}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}

	s := open(t, path)
	ctx := t.Context()
	var check string
	if err := sqlstore.DBOf(s.Store).QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
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
	t.Logf("%d records and %d exchanges survived SIGKILL", len(issued), len(exchanged))
}

// TestStore_DurableAcrossKill9WithBatchesInFlight is
// TestStore_DurableAcrossKill9 with 32 writers in the child at once, so
// that writes share commits (group commit) and batches are in flight when
// SIGKILL comes: every token printed, answered after the commit that held
// it, is found after the restart, and every exchange printed left its code
// used and its tokens stored.
func TestStore_DurableAcrossKill9WithBatchesInFlight(t *testing.T) {
	if os.Getenv(envChild) == "issue-concurrent" {
		issueConcurrentlyUntilKilled(os.Getenv(envPath), 32)
		return
	}
	path := filepath.Join(t.TempDir(), "oauth2.db")
	cmd, _, out := child(t, "TestStore_DurableAcrossKill9WithBatchesInFlight", "issue-concurrent", path)
	var issued, exchanged [][]string
	var batches, writes int64
	read := func(l string) {
		f := strings.Fields(l)
		switch {
		case f[0] == "issued" && len(f) == 3:
			issued = append(issued, f[1:])
		case f[0] == "exchanged" && len(f) == 4:
			exchanged = append(exchanged, f[1:])
		case f[0] == "batches" && len(f) == 3:
			_, _ = fmt.Sscan(f[1]+" "+f[2], &batches, &writes)
		case f[0] == "error":
			t.Fatalf("child: %s", l)
		}
	}
	for len(issued)+len(exchanged) < 2000 {
		l, ok := next(out)
		if !ok {
			t.Fatalf("child stopped after %d lines", len(issued)+len(exchanged))
		}
		read(l)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		l, ok := next(out)
		if !ok {
			break
		}
		read(l)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if batches == 0 || writes <= batches {
		t.Fatalf("the child reported %d writes in %d batches: no commit was shared", writes, batches)
	}

	s := open(t, path)
	ctx := t.Context()
	var check string
	if err := sqlstore.DBOf(s.Store).QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
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

// issueConcurrentlyUntilKilled is the child of
// TestStore_DurableAcrossKill9WithBatchesInFlight: writers goroutines
// issuing and exchanging, and a report of the batches every 256 writes.
func issueConcurrentlyUntilKilled(path string, writers int) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		say("error %v", err)
		return
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				now := time.Now()
				if i%4 == 3 {
					grant := "grant-" + sqltest.Key()[:8]
					code := sqltest.Code(now, grant, time.Hour)
					tok := sqltest.Tokens(now, grant, time.Hour)
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
					r := sqltest.Tokens(now, "grant", time.Hour)
					if err := s.Create(ctx, r); err != nil {
						say("error %v", err)
						return
					}
					say("issued %s %s", r.Access, r.Refresh)
				}
				if n.Add(1)%256 == 0 {
					st := s.Batches()
					say("batches %d %d", st.Batches, st.Ops)
				}
			}
		})
	}
	wg.Wait()
}

// issueUntilKilled is the child of TestStore_DurableAcrossKill9.
func issueUntilKilled(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		say("error %v", err)
		return
	}
	for i := 0; ; i++ {
		now := time.Now()
		if i%4 == 3 {
			grant := "grant-" + sqltest.Key()[:8]
			code := sqltest.Code(now, grant, time.Hour)
			if err := s.Create(ctx, code); err != nil {
				say("error %v", err)
				return
			}
			tok := sqltest.Tokens(now, grant, time.Hour)
			if err := s.ExchangeCode(ctx, code.Code, tok); err != nil {
				say("error %v", err)
				return
			}
			say("exchanged %s %s %s", code.Code, grant, tok.Access)
			continue
		}
		r := sqltest.Tokens(now, "grant", time.Hour)
		if err := s.Create(ctx, r); err != nil {
			say("error %v", err)
			return
		}
		say("issued %s %s", r.Access, r.Refresh)
	}
}

// TestStore_ProcessesConsumeOnce runs child processes on one database
// file that all try to exchange the same codes and rotate the same refresh
// tokens at the same moment: each is consumed by exactly one process, and
// every other gets a *ReusedError naming its grant.
func TestStore_ProcessesConsumeOnce(t *testing.T) {
	if os.Getenv(envChild) == "consume" {
		consumeFromStdin(os.Getenv(envPath))
		return
	}
	const processes, keys = 3, 25
	path := filepath.Join(t.TempDir(), "oauth2.db")
	s := open(t, path)
	ctx := t.Context()
	type key struct{ kind, value, grant string }
	var ks []key
	for i := range keys {
		grant := fmt.Sprintf("grant-%d", i)
		code := sqltest.Code(time.Now(), grant, time.Hour)
		tok := sqltest.Tokens(time.Now(), grant, time.Hour)
		for _, r := range []oauth2.TokenInfo{code, tok} {
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		ks = append(ks, key{"code", code.Code, grant}, key{"refresh", tok.Refresh, grant})
	}
	type result struct{ outcome, detail string }
	results := make([][]result, processes)
	var wg sync.WaitGroup
	var gates []io.WriteCloser
	for p := range processes {
		_, in, out := child(t, "TestStore_ProcessesConsumeOnce", "consume", path)
		if l, ok := next(out); !ok || l != "ready" {
			t.Fatalf("child %d: %q, want ready", p, l)
		}
		gates = append(gates, in)
		wg.Go(func() {
			for {
				l, ok := next(out)
				if !ok {
					return
				}
				outcome, detail, _ := strings.Cut(l, " ")
				results[p] = append(results[p], result{outcome, detail})
			}
		})
	}
	// The keys, then the signal to start, to every child at once.
	var list strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&list, "%s %s\n", k.kind, k.value)
	}
	list.WriteString("go\n")
	for _, in := range gates {
		go func() {
			_, _ = io.WriteString(in, list.String())
			in.Close()
		}()
	}
	wg.Wait()
	for i, k := range ks {
		wins := 0
		for p := range processes {
			if len(results[p]) != len(ks) {
				t.Fatalf("child %d reported %d results, want %d: %v", p, len(results[p]), len(ks), results[p])
			}
			switch r := results[p][i]; r.outcome {
			case "won":
				wins++
				if _, err := s.GetByAccess(ctx, r.detail); err != nil {
					t.Fatalf("%s %d: the winner's access token: %v", k.kind, i, err)
				}
			case "reused":
				if r.detail != k.grant {
					t.Fatalf("%s %d: ReusedError of grant %q, want %q", k.kind, i, r.detail, k.grant)
				}
			default:
				t.Fatalf("%s %d: child %d: %s %s", k.kind, i, p, r.outcome, r.detail)
			}
		}
		if wins != 1 {
			t.Fatalf("%s %d consumed by %d processes, want 1", k.kind, i, wins)
		}
	}
}

// consumeFromStdin is the child of TestStore_ProcessesConsumeOnce.
func consumeFromStdin(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.WithTimeout(10*time.Second))
	if err != nil {
		say("error %v", err)
		return
	}
	defer s.Close()
	say("ready")
	in := bufio.NewScanner(os.Stdin)
	var todo [][2]string
	for in.Scan() && in.Text() != "go" {
		kind, value, _ := strings.Cut(in.Text(), " ")
		todo = append(todo, [2]string{kind, value})
	}
	for _, k := range todo {
		tok := sqltest.Tokens(time.Now(), "", time.Hour)
		var err error
		if k[0] == "code" {
			err = s.ExchangeCode(ctx, k[1], tok)
		} else {
			err = s.RotateRefresh(ctx, k[1], tok)
		}
		var re *oauth2.ReusedError
		switch {
		case err == nil:
			say("won %s", tok.Access)
		case errors.As(err, &re):
			say("reused %s", re.GrantID)
		default:
			say("error %v", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
}
