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

	mu       sync.Mutex
	target   string
	delay    time.Duration
	cut      []byte // see CutAfter and CutBefore
	cutDone  chan struct{}
	drop     bool // CutBefore: the chunk holding cut is not forwarded
	noCancel bool // see LoseCancelRequests
	conns    map[net.Conn]struct{}
	closed   bool
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
	return p.arm(pattern, false)
}

// CutBefore arms a one-shot fault like CutAfter's, but the chunk that
// holds pattern is lost on the way: the connection is closed both ways
// instead, and the server never sees it (a COMMIT lost before it arrived:
// the client cannot tell it from one whose answer was lost).
func (p *Proxy) CutBefore(pattern []byte) <-chan struct{} {
	return p.arm(pattern, true)
}

// LoseCancelRequests makes the proxy close, unforwarded, the connections
// that bring a cancel request, as a load balancer that sends them to
// another server does: a backend whose client left is not interrupted by
// the driver's cancel request.
func (p *Proxy) LoseCancelRequests() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noCancel = true
}

// cancelRequest is how a CancelRequest message starts: its length (16)
// and code (80877102).
var cancelRequest = []byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e}

func (p *Proxy) arm(pattern []byte, drop bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.cutDone, p.drop = pattern, make(chan struct{}), drop
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
// closes and CutBefore cuts off.
func (p *Proxy) pipe(dst, src, client net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for first := true; ; first = false {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if first && client != nil && p.noCancel && bytes.HasPrefix(buf[:n], cancelRequest) {
				p.mu.Unlock()
				return
			}
			d := p.delay
			var cut chan struct{}
			drop := false
			if client != nil && p.cut != nil && bytes.Contains(buf[:n], p.cut) {
				cut, drop, p.cut = p.cutDone, p.drop, nil
			}
			p.mu.Unlock()
			if drop {
				src.Close()
				dst.Close()
				close(cut)
				return
			}
			if d > 0 {
				time.Sleep(d) // injected latency, not a wait for a condition
			}
			if cut != nil {
				// The client hears nothing more, not even an answer that
				// would come back before a close after the write.
				client.Close()
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if cut != nil {
				close(cut) // the server got it
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
