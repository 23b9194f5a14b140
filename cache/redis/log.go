package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis writes its own log lines (failed dials, connection-pool errors)
// through one process-wide logger, to stderr by default: about 20 lines a
// second while a server is down. The first Open of a redis:// URL replaces
// it with goRedisLogs, which forwards those lines to the cache's logger
// (cache.WithLogger given to cache.Open or OpenRegistry, else
// slog.Default()) at Warn level, at most one line per goRedisLogInterval
// with the number of lines dropped since. An application that wants its
// own go-redis logger calls goredis.SetLogger after opening its first
// cache: the last call wins.

// goRedisLogInterval is the least time between two forwarded lines.
const goRedisLogInterval = 10 * time.Second

// goRedisLogs is go-redis's logger forwarding to slog, rate-limited.
type goRedisLogs struct {
	logger     *slog.Logger
	last       atomic.Int64 // Unix nanoseconds of the last line
	suppressed atomic.Uint64
	now        func() time.Time
}

// Printf implements go-redis's internal.Logging.
func (g *goRedisLogs) Printf(ctx context.Context, format string, v ...any) {
	if strings.HasPrefix(format, "csc: ") {
		goRedisDisabled(ctx, fmt.Sprintf(format, v...))
	}
	n := g.now().UnixNano()
	last := g.last.Load()
	if last != 0 && n-last < int64(goRedisLogInterval) || !g.last.CompareAndSwap(last, n) {
		g.suppressed.Add(1)
		return
	}
	g.logger.LogAttrs(ctx, slog.LevelWarn, "redis: go-redis: "+fmt.Sprintf(format, v...),
		slog.Uint64("suppressed", g.suppressed.Swap(0)))
}

var forwardOnce sync.Once

// forwardGoRedisLogs installs goRedisLogs once per process.
func forwardGoRedisLogs(l *slog.Logger) {
	forwardOnce.Do(func() {
		goredis.SetLogger(&goRedisLogs{logger: l, now: time.Now})
	})
}
