package memcached

import (
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/fragcache/fragcache/cache"
)

// Selector chooses which of several servers holds a key.
type Selector uint8

const (
	// SelectorDjango places keys as Django's PyMemcacheCache does:
	// pymemcache's HashClient with its default RendezvousHash. Each server
	// scores murmur3_32("<node>-<key>") (seed 0) and the highest score wins,
	// ties going to the greater node name. The node name is "host:port" as
	// pymemcache normalises it (the port in decimal without leading zeros,
	// an IPv6 host without brackets) or the socket path. A Go application
	// and a Django application listing the same servers therefore put every
	// key on the same server. It is the default.
	//
	// pymemcache also takes a failing server out of the ring for a while
	// (retry_attempts, dead_timeout); this selector does not, so while a
	// server is down its keys miss rather than move (see the package
	// documentation, "Pools").
	SelectorDjango Selector = iota
	// SelectorGomemcache places keys as gomemcache's memcache.ServerList
	// does: crc32 (IEEE) of the key modulo the number of servers, so keys
	// land where a plain gomemcache client listing the same servers in the
	// same order puts them. Adding a server moves most keys.
	SelectorGomemcache
)

// String returns "django" or "gomemcache".
func (s Selector) String() string {
	switch s {
	case SelectorDjango:
		return "django"
	case SelectorGomemcache:
		return "gomemcache"
	}
	return "Selector(" + strconv.Itoa(int(s)) + ")"
}

// ParseSelector parses "django" (also "rendezvous" or "pymemcache") or
// "gomemcache" (also "crc32").
func ParseSelector(s string) (Selector, error) {
	switch strings.ToLower(s) {
	case "django", "rendezvous", "pymemcache":
		return SelectorDjango, nil
	case "gomemcache", "crc32":
		return SelectorGomemcache, nil
	}
	return 0, fmt.Errorf("%w: memcached selector %q (want django or gomemcache)", cache.ErrInvalidOption, s)
}

// node is one server: where to dial, and its name for rendezvous hashing.
type node struct {
	addr staticAddr
	// hashPrefix is the node name and "-", as the low bytes of its
	// characters (see appendPyLowBytes), ready to be hashed with a key.
	hashPrefix []byte
	name       string
}

// staticAddr is a net.Addr that is not resolved until dialled, so that a
// DNS name is looked up on each new connection rather than once.
type staticAddr struct {
	network, address string
}

func (a staticAddr) Network() string { return a.network }
func (a staticAddr) String() string  { return a.address }

// parseServer reads a server as Django's LOCATION entries are read by
// pymemcache's normalize_server_spec: "host:port", "host" (port 11211),
// "[ipv6]:port", "unix:/path" or "/path".
func parseServer(spec string) (node, error) {
	s := strings.TrimSpace(spec)
	bad := func(why string) (node, error) {
		return node{}, fmt.Errorf("%w: memcached server %q: %s", cache.ErrInvalidOption, spec, why)
	}
	if s == "" {
		return bad("empty")
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok || strings.HasPrefix(s, "/") {
		if !ok {
			path = s
		}
		if !strings.HasPrefix(path, "/") {
			return bad("want an absolute socket path, as in unix:/run/memcached.sock")
		}
		return newNode(staticAddr{"unix", path}, path), nil
	}
	if strings.ContainsAny(s, "@/?#") {
		return bad("want host:port, [ipv6]:port or unix:/path")
	}
	host, port := s, 11211
	if strings.Contains(s, ":") && !strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, ':')
		p, err := strconv.Atoi(s[i+1:])
		if err != nil || p < 1 || p > 65535 || s[i+1] == '+' || s[i+1] == '-' {
			return bad("bad port")
		}
		host, port = s[:i], p
	}
	bracketed := strings.HasPrefix(host, "[")
	host = strings.Trim(host, "[]")
	if host == "" {
		return bad("no host")
	}
	if strings.Contains(host, ":") && !bracketed {
		return bad("write an IPv6 address in brackets, as in [::1]:11211")
	}
	name := host + ":" + strconv.Itoa(port)
	return newNode(staticAddr{"tcp", net.JoinHostPort(host, strconv.Itoa(port))}, name), nil
}

func newNode(a staticAddr, name string) node {
	return node{addr: a, name: name, hashPrefix: appendPyLowBytes(nil, name+"-")}
}

// selector implements memcache.ServerSelector for both placements.
type selector struct {
	kind  Selector
	nodes []node
}

var _ memcache.ServerSelector = (*selector)(nil)

// PickServer returns the server holding key.
func (s *selector) PickServer(key string) (net.Addr, error) {
	switch len(s.nodes) {
	case 0:
		return nil, memcache.ErrNoServers
	case 1:
		return s.nodes[0].addr, nil
	}
	return s.nodes[s.pick(key)].addr, nil
}

// pick returns the index of the node holding key (at least two nodes).
func (s *selector) pick(key string) int {
	if s.kind == SelectorGomemcache {
		// As memcache.ServerList, which hashes at most the first 256 bytes.
		if len(key) > 256 {
			key = key[:256]
		}
		return int(crc32.ChecksumIEEE([]byte(key)) % uint32(len(s.nodes)))
	}
	var buf [512]byte
	best, bestScore := -1, int64(-1)
	for i := range s.nodes {
		n := &s.nodes[i]
		b := appendPyLowBytes(append(buf[:0], n.hashPrefix...), key)
		score := int64(murmur3_32(b, 0))
		switch {
		case score > bestScore:
			best, bestScore = i, score
		case score == bestScore && n.name > s.nodes[best].name:
			best = i
		}
	}
	return best
}

// Each calls f for every server, and returns the errors it reported,
// joined. Unlike memcache.ServerList it does not stop at the first error,
// so that FlushAll and Ping reach every server.
func (s *selector) Each(f func(net.Addr) error) error {
	if len(s.nodes) == 1 { // a server's own client: the caller names it
		return f(s.nodes[0].addr)
	}
	var errs []error
	for i := range s.nodes {
		if err := f(s.nodes[i].addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.nodes[i].addr.address, err))
		}
	}
	return errors.Join(errs...)
}

// appendPyLowBytes appends what pymemcache's pure-Python murmur3_32 hashes
// for the Python str s: it reads characters, not bytes, and keeps the low
// byte of each code point (ord(c) & 0xff; the fourth character of a block
// is not masked, but only the low 32 bits of the result count). So for a
// non-ASCII key one byte per character is hashed, and the length is the
// number of characters. A byte that is not valid UTF-8 (which a Django key
// cannot hold) counts as itself.
func appendPyLowBytes(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = append(dst, byte(r))
		}
		i += size
	}
	return dst
}

// murmur3_32 is MurmurHash3's x86 32-bit hash of data.
func murmur3_32(data []byte, seed uint32) uint32 {
	const (
		c1 = 0xcc9e2d51
		c2 = 0x1b873593
	)
	h := seed
	n := len(data) &^ 3
	for i := 0; i < n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) & 3 {
	case 3:
		k ^= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[n])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
