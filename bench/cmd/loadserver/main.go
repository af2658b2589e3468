// Command loadserver serves one mode of the load benchmark on a loopback
// address until it gets SIGINT or SIGTERM. See bench/README.md for the
// modes.
//
// Usage:
//
//	loadserver -mode bare|library|bare-es256|library-es256|… [-addr 127.0.0.1:9190] [-preload N] [-cpuprofile FILE] [-memprofile FILE] [-trace FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/oauth2d/oauth2/bench/internal/loadserver"
)

func main() {
	mode := flag.String("mode", loadserver.Bare, "one of: "+strings.Join(append(loadserver.Modes, loadserver.DPoPModes...), ", "))
	addr := flag.String("addr", "127.0.0.1:9190", "listen `address` (loopback)")
	preload := flag.Int("preload", 0, "issue `N` live client_credentials tokens into the store before serving")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving time (not of the start) to `file`")
	traceFile := flag.String("trace", "", "write an execution trace of the serving time to `file` (go tool trace)")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the serving time (not of the start) to `file` (go tool pprof -sample_index=alloc_space)")
	flag.Parse()
	if *memProfile != "" {
		// Every 4 KiB allocated, from the start on: the start's
		// allocations are in the profile too; -focus on
		// net/http.(*conn).serve or the store's goroutines leaves them out.
		runtime.MemProfileRate = 4096
	}
	if flag.NArg() > 0 {
		log.Fatalf("loadserver: unexpected argument %q", flag.Arg(0))
	}
	if *preload < 0 {
		log.Fatal("loadserver: -preload must not be negative")
	}
	if err := run(*mode, *addr, *preload, *cpuProfile, *traceFile, *memProfile); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(mode, addr string, preload int, cpuProfile, traceFile, memProfile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("loadserver: -addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadserver: -addr must be a loopback address, got %q", host)
	}

	start := time.Now()
	s, err := loadserver.New(ctx, mode, preload)
	if err != nil {
		return err
	}
	defer s.Close()
	// What the start took and no longer holds goes back to the system
	// now, not while the load runs: the oauth2d modes hash their demo
	// user's password with argon2id (64 MiB), and the runtime's scavenger
	// returned that memory page run by page run during the first seconds
	// of load (madvise calls, and page faults where the allocator took
	// the pages again), a cost of the start, not of a request.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("loadserver: %w", err)
	}
	srv := &http.Server{Handler: s.Handler, ConnContext: s.ConnContext, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("loadserver: mode=%s preload=%d ready in %s, listening on %s\n",
		mode, preload, time.Since(start).Round(time.Millisecond), ln.Addr())

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("loadserver: -cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("loadserver: -cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return fmt.Errorf("loadserver: -memprofile: %w", err)
		}
		defer f.Close()
		defer func() {
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "loadserver: -memprofile:", err)
			}
		}()
	}
	if traceFile != "" {
		f, err := os.Create(traceFile)
		if err != nil {
			return fmt.Errorf("loadserver: -trace: %w", err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return fmt.Errorf("loadserver: -trace: %w", err)
		}
		defer trace.Stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("loadserver: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("loadserver: shutdown: %w", err)
	}
	if s.Report != nil {
		fmt.Printf("loadserver: store: %s\n", s.Report())
	}
	return nil
}
