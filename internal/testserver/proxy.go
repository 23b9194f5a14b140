package testserver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a memcached server that counts the
// commands of memcached's text protocol passing through it, by verb: one
// command line is one command, whatever the number of keys it names
// (memcached's own cmd_get counts keys). Point a client at Addr.
type Proxy struct {
	// Addr is the proxy's address, "127.0.0.1:port".
	Addr string

	target string
	ln     net.Listener

	mu     sync.Mutex
	counts map[string]int
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// storageVerbs are the commands followed by a data block.
var storageVerbs = map[string]bool{"set": true, "add": true, "replace": true, "append": true, "prepend": true, "cas": true}

// CountingProxy starts a Proxy to the memcached server at target on a free
// port of 127.0.0.1, and stops it when the test ends.
func CountingProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln,
		counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Count returns how many command lines with one of verbs ("get", "gets")
// passed through the proxy since it started or was last Reset.
func (p *Proxy) Count(verbs ...string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range verbs {
		n += p.counts[v]
	}
	return n
}

// Counts returns the number of command lines per verb.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		m[k] = v
	}
	return m
}

// Reset sets the counts to zero.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.counts)
}

// Close stops the proxy and closes its connections. It is safe to call
// twice.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}

// track registers c, or closes it when the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client) || !p.track(server) {
			_ = client.Close()
			_ = server.Close()
			return
		}
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(client, server)
			_ = client.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.forward(server, client)
			_ = server.Close()
		}()
	}
}

// forward copies the client's commands to the server, counting them.
func (p *Proxy) forward(server io.Writer, client io.Reader) {
	br := bufio.NewReader(client)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			fields := bytes.Fields(line)
			if len(fields) > 0 {
				verb := string(fields[0])
				p.mu.Lock()
				p.counts[verb]++
				p.mu.Unlock()
				if storageVerbs[verb] && len(fields) >= 5 {
					// The data block: <bytes> then \r\n.
					if n, err := strconv.Atoi(string(fields[4])); err == nil && n >= 0 {
						if _, err := server.Write(line); err != nil {
							return
						}
						if _, err := io.CopyN(server, br, int64(n)+2); err != nil {
							return
						}
						continue
					}
				}
			}
			if _, err := server.Write(line); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
