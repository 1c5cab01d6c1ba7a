package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a server, for tests of
// what clients see when the server behind a stable address changes (a
// pgbouncer, HAProxy or cloud endpoint after a failover), is cut off, or
// is far away. It forwards each new connection to the target of the
// moment (none at first: it closes them, a server that is not there yet).
type Proxy struct {
	ln net.Listener

	mu      sync.Mutex
	target  string
	delay   time.Duration
	cut     []byte // see CutAfter
	cutDone chan struct{}
	conns   map[net.Conn]struct{}
	closed  bool
}

// NewProxy starts a proxy, closed when the test ends.
func NewProxy(tb testing.TB) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve()
	tb.Cleanup(p.Close)
	return p
}

// URL returns the URL of database dbname through the proxy.
func (p *Proxy) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", p.ln.Addr(), dbname)
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget makes new connections go to 127.0.0.1:port; connections open
// already keep their server.
func (p *Proxy) SetTarget(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = fmt.Sprintf("127.0.0.1:%d", port)
}

// Interrupt closes every connection and refuses new ones until the next
// SetTarget: the server is unreachable.
func (p *Proxy) Interrupt() {
	p.mu.Lock()
	p.target = ""
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// SetDelay delays every chunk forwarded from now on, both ways.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// CutAfter arms a one-shot fault: the next chunk a client sends that holds
// pattern reaches the server, and then the client's side of that
// connection is closed at once, so the client never hears the answer (a
// COMMIT whose outcome the client cannot know, say). The returned channel
// is closed once it happened.
func (p *Proxy) CutAfter(pattern []byte) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.cutDone = pattern, make(chan struct{})
	return p.cutDone
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target == "" {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		go p.pipe(up, c, c)
		go p.pipe(c, up, nil)
	}
}

// track registers connections for Close and Interrupt; false once closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst until either ends; client, when set, is the
// client's connection of a client-to-server pipe (src), which CutAfter
// closes.
func (p *Proxy) pipe(dst, src, client net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			var cut chan struct{}
			if client != nil && p.cut != nil && bytes.Contains(buf[:n], p.cut) {
				cut, p.cut = p.cutDone, nil
			}
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d) // injected latency, not a wait for a condition
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if cut != nil {
				client.Close() // the server got it; the client hears nothing
				close(cut)
			}
		}
		if err != nil {
			return // EOF or a closed connection: close both ways
		}
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	p.ln.Close()
	for c := range conns {
		c.Close()
	}
}
