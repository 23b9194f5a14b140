package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
)

// Commands over a Redis Cluster that the single-server backend sends as one
// multi-key command (MGET, DEL k1 k2 …, MSET in a transaction). A Cluster
// refuses those when the keys hash to several slots (CROSSSLOT), so they go
// as one command per key in a go-redis cluster pipeline, which groups the
// commands by the master owning their slots and sends one pipeline per
// master, all concurrently: one round trip per master involved, in
// parallel (tested against each master's INFO commandstats and a pipeline
// hook on each node).

// getManyCluster is GetMany over a Cluster: GET per key, pipelined per
// master.
func (b *Backend) getManyCluster(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	cmds := make([]*goredis.StringCmd, len(keys))
	p := b.cluster.Pipeline()
	for i, k := range keys {
		cmds[i] = p.Get(ctx, k)
	}
	// Exec's error is the first command's error, goredis.Nil for a miss
	// included: each command is judged below.
	_, _ = p.Exec(ctx)
	var (
		firstErr error
		failed   int
	)
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case err == goredis.Nil:
			continue
		case err != nil:
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		d, err := b.decode(keys[i], readOnlyBytes(v))
		if err != nil {
			return nil, err
		}
		out[keys[i]] = d
	}
	switch {
	case failed == len(keys):
		return nil, b.fail(ctx, "GET", 0, firstErr)
	case failed > 0:
		// Some masters answered (a master dying, its slots not yet
		// taken over): their hits, and an error fail-open answers as
		// a partial outage, not counted against the whole Cluster.
		return out, fmt.Errorf("%w: %d of %d keys: %w", cache.ErrPartialOutage, failed, len(keys), b.fail(ctx, "GET", 0, firstErr))
	}
	return out, nil
}

// delCluster deletes keys with one DEL per key, pipelined through c (the
// cluster client, or one master's client) and returns how many existed. All
// are sent; the error is the first failure.
func (b *Backend) delCluster(ctx context.Context, c goredis.UniversalClient, keys []string) (int, error) {
	cmds := make([]*goredis.IntCmd, len(keys))
	p := c.Pipeline()
	for i, k := range keys {
		cmds[i] = p.Del(ctx, k)
	}
	_, _ = p.Exec(ctx)
	n := 0
	var first error
	for _, cmd := range cmds {
		d, err := cmd.Result()
		if err != nil {
			if first == nil {
				first = b.fail(ctx, "DEL", 0, err)
			}
			continue
		}
		n += int(d)
	}
	return n, first
}

// setManyCluster stores entries with SET k v EX t per key (ttl 0: no
// expiry), pipelined per master.
func (b *Backend) setManyCluster(ctx context.Context, entries []cache.Entry, ttl time.Duration) error {
	cmds := make([]*goredis.StatusCmd, len(entries))
	p := b.cluster.Pipeline()
	for i, e := range entries {
		cmds[i] = p.Set(ctx, e.Key, b.encode(e.Value), ttl)
	}
	_, _ = p.Exec(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return b.fail(ctx, "SET", 0, err)
		}
	}
	return nil
}

// scanDeleteCluster is scanDelete over a Cluster: it walks every master's
// keys in turn (SCAN is per node), so that match is never called
// concurrently.
func (b *Backend) scanDeleteCluster(ctx context.Context, pattern string, match func(string) bool) (int, error) {
	var (
		mu      sync.Mutex
		masters []*goredis.Client
	)
	if err := b.cluster.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
		mu.Lock()
		masters = append(masters, c)
		mu.Unlock()
		return nil
	}); err != nil {
		return 0, b.fail(ctx, "CLUSTER SLOTS", 0, err)
	}
	deleted := 0
	for _, c := range masters {
		n, err := b.scanDeleteOn(ctx, c, fmt.Sprintf("cluster master %s", c.Options().Addr), pattern, match)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}
