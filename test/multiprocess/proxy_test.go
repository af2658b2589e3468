package multiprocess

import (
	"net"
	"sync"
	"testing"
	"time"
)

// proxy forwards TCP connections from a loopback port to a database
// server, and can take the server away in two ways:
//
//   - Down closes the port and cuts every connection, as a crashed or
//     restarting server does: connecting is refused at once.
//   - Stall keeps every connection open and accepts new ones, but holds
//     what they send, as a hung server or a partitioned network does:
//     requests wait until the client's timeout.
//
// Up and Resume bring the server back: Up listens again on the same
// port, Resume delivers what was held.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	flowing chan struct{} // closed while forwarding
	wg      sync.WaitGroup
}

// newProxy starts a proxy to target; it is shut down when the test ends.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	flowing := make(chan struct{})
	close(flowing)
	p := &proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, flowing: flowing}
	p.listen(ln)
	t.Cleanup(func() {
		p.Down()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *proxy) Addr() string { return p.addr }

func (p *proxy) listen(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				c.Close()
				return
			}
			p.wg.Add(1)
			go p.forward(c)
		}
	}()
}

// track records a connection; false when the proxy went down meanwhile.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

// gate returns a channel that is closed while the proxy forwards.
func (p *proxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flowing
}

// forward connects the client to the target once the proxy forwards, and
// copies both ways until either side closes.
func (p *proxy) forward(client net.Conn) {
	defer p.wg.Done()
	<-p.gate()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(server) {
		server.Close()
		p.untrack(client)
		return
	}
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.pipe(server, client) }()
	go func() { defer both.Done(); p.pipe(client, server) }()
	both.Wait()
}

// pipe copies src to dst, holding each chunk while the proxy is stalled.
// When either direction ends, both connections are closed.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.untrack(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			<-p.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Down closes the port and every connection.
func (p *proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.release()
}

// Up listens on the same port again.
func (p *proxy) Up() {
	p.t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel
	// still holds it.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listen(ln)
}

// Stall holds everything sent through the proxy until Resume.
func (p *proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
		p.flowing = make(chan struct{})
	default:
	}
}

// Resume delivers what was held and forwards again.
func (p *proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release()
}

// release opens the gate; p.mu is held.
func (p *proxy) release() {
	select {
	case <-p.flowing:
	default:
		close(p.flowing)
	}
}
