package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Durable are the settings of a cluster that keeps its commits as a
// production server does: fsync, full-page writes and synchronous commit on
// (pass them to [StartWith]). Test clusters run without them, which hides
// every cost that grows with commit latency.
var Durable = []string{"fsync=on", "full_page_writes=on", "synchronous_commit=on"}

// NewSyncPair starts, for tb, what a user's highly available primary looks
// like: a [Durable] primary whose every commit waits for a synchronous
// standby, reached through a [DelayProxy] that adds delay to each direction
// of the replication link (1 ms each way is a cross-zone pair). Both stop
// when tb ends; tb fails if they cannot start.
func NewSyncPair(tb testing.TB, delay time.Duration) (primary, standby *Cluster) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	primary, err := StartWith(ctx, Durable...)
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() { primary.Stop() })
	proxy, err := NewDelayProxy("127.0.0.1:"+strconv.Itoa(primary.Port()), delay)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { proxy.Close() })
	_, port, _ := net.SplitHostPort(proxy.Addr())
	standby, err = primary.startReplica(ctx, append([]string{
		"primary_conninfo=host=127.0.0.1 port=" + port + " user=postgres application_name=standby",
	}, Durable...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { standby.Stop() })
	for _, sql := range []string{"ALTER SYSTEM SET synchronous_standby_names = 'standby'", "SELECT pg_reload_conf()"} {
		if err := primary.exec(ctx, sql); err != nil {
			tb.Fatal(err)
		}
	}
	if err := primary.waitSyncStandby(ctx); err != nil {
		tb.Fatal(err)
	}
	return primary, standby
}

// waitSyncStandby waits until a standby replicates c synchronously.
func (c *Cluster) waitSyncStandby(ctx context.Context) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: no synchronous standby: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DelayProxy is a TCP proxy that delivers every chunk of data it relays,
// in each direction, delay after it arrived: a link with that much latency
// each way and no bandwidth limit.
type DelayProxy struct {
	l      net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// NewDelayProxy listens on a free port of 127.0.0.1 and relays each
// connection to target with delay each way.
func NewDelayProxy(target string, delay time.Duration) (*DelayProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{l: l, target: target, delay: delay, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *DelayProxy) Addr() string { return p.l.Addr().String() }

// Close stops the proxy and cuts every connection.
func (p *DelayProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.l.Close()
	p.wg.Wait()
	return err
}

// track registers c to be closed with the proxy; false when it is closed.
func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *DelayProxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in) || !p.track(out) {
			in.Close()
			out.Close()
			continue
		}
		p.wg.Go(func() { p.relay(in, out) })
		p.wg.Go(func() { p.relay(out, in) })
	}
}

// chunk is data read at one moment, due for delivery at another.
type chunk struct {
	data []byte
	due  time.Time
}

// relay copies from src to dst, each chunk delay after it was read, in
// order, reading on while earlier chunks wait; it closes both ends when
// either fails.
func (p *DelayProxy) relay(src, dst net.Conn) {
	queue := make(chan chunk, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer dst.Close()
		for c := range queue {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.data); err != nil {
				src.Close()
				for range queue { // drain so that the reader does not block
				}
				return
			}
		}
	})
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.delay)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				src.Close()
			}
			break
		}
	}
	close(queue)
	wg.Wait()
}
