// Package sqltest holds what the tests of the SQL stores share: a TCP
// proxy to take an engine away and bring it back, a scan of the tables for
// secrets at rest, engine-independent checks of internal/sqlstore, and the
// benchmarks that compare a store with its engine's raw statements.
package sqltest

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a loopback address to an engine.
// Down closes the listener and every forwarded connection, as a crashed
// or unplugged engine would; Up listens again on the same address. Stall
// keeps every connection open but drops what crosses it, and accepts new
// ones without forwarding them, as a hung engine or a partitioned network
// would; Resume forwards again.
type Proxy struct {
	t       testing.TB
	target  string
	addr    string
	stalled atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to target, stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.Down()
		p.wg.Wait()
	})
	return p
}

// Addr is the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.addr }

// Down stops accepting and cuts every forwarded connection.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Stall drops everything that crosses the proxy from now on.
func (p *Proxy) Stall() { p.stalled.Store(true) }

// Resume forwards again; what was dropped is lost.
func (p *Proxy) Resume() { p.stalled.Store(false) }

// Up listens again on the proxy's address.
func (p *Proxy) Up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forward(client net.Conn) {
	if !p.track(client) {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if p.stalled.Load() {
			// A hung engine accepts and never answers. What the client
			// sent is lost, so once the proxy resumes the connection is
			// closed rather than forwarded.
			buf := make([]byte, 512)
			for p.stalled.Load() {
				_ = client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				if _, err := client.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
			}
			client.Close()
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(server) {
			client.Close()
			if server != nil {
				server.Close()
			}
			return
		}
		done := make(chan struct{}, 2)
		pipe := func(dst, src net.Conn) {
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 && !p.stalled.Load() {
					if _, werr := dst.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			done <- struct{}{}
		}
		go pipe(server, client)
		go pipe(client, server)
		<-done
		client.Close()
		server.Close()
		<-done
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()
}
