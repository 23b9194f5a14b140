package httpx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketBehindMiddleware: gorilla/websocket asserts http.Hijacker;
// its handshake works behind every middleware that wraps the writer.
func TestWebSocketBehindMiddleware(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if mt, msg, err := conn.ReadMessage(); err == nil {
			_ = conn.WriteMessage(mt, msg)
		}
	})
	for name, mw := range map[string]func(http.Handler) http.Handler{
		"VaryOnCookie":   VaryOnCookie,
		"CacheControl":   CacheControl(Public()),
		"NeverCache":     NeverCache,
		"ConditionalGet": ConditionalGet,
		"Compress":       Compress(),
		"Condition":      Condition(func(*http.Request) string { return "" }, nil),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(mw(echo))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hi" {
				t.Errorf("echo %q, %v", msg, err)
			}
		})
	}
}
