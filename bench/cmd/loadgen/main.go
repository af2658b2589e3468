// Command loadgen drives a benchmark server on 127.0.0.1 with keep-alive
// connections for a fixed time and prints one line:
//
//	rps=… p50_ms=… p99_ms=… errors=… requests=… elapsed_s=…
//
// Any response other than a 200 with the expected body is an error; errors
// are counted, summarized on stderr, and make the exit status 1.
//
// Usage:
//
//	loadgen [-addr 127.0.0.1:9190] [-mode token|introspect|token-dpop] [-c 32] [-d 10s] [-wait 0]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2d/oauth2/bench/internal/loadgen"
)

func main() {
	cfg, err := loadgen.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(res)
	if res.Errors > 0 {
		fmt.Fprintln(os.Stderr, "loadgen: errors:", res.ErrorSummary())
		os.Exit(1)
	}
}
