package redis

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestGoRedisLogsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1700000000, 0)
	g := &goRedisLogs{logger: slog.New(slog.NewTextHandler(&buf, nil)), now: func() time.Time { return now }}
	for range 20 {
		g.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s", 5, "refused")
	}
	now = now.Add(goRedisLogInterval)
	g.Printf(context.Background(), "redis: again")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "failed to dial after 5 attempts") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "suppressed=19") {
		t.Errorf("second line %q does not count the 19 dropped", lines[1])
	}
}
