package tags

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
)

func TestCoalescingWaitIsBounded(t *testing.T) {
	// The leader's body is stuck; a concurrent render of the same fragment
	// waits CoalescingWait, then renders the body itself without storing
	// it. The leader stores its body when it finishes.
	e := newEnv(t, cache.KeySchemeDjango61, Options{CoalescingWait: 30 * time.Millisecond}, nil)
	release := make(chan struct{})
	var calls atomic.Int32
	slow := func() string {
		if calls.Add(1) == 1 {
			<-release
			return "leader"
		}
		return "follower"
	}
	tpl, err := e.set.FromString(`{% cache 60 f %}{{ slow() }}{% endcache %}`)
	if err != nil {
		t.Fatal(err)
	}
	leader := make(chan string)
	go func() {
		out, _ := tpl.Execute(pongo2.Context{"slow": slow})
		leader <- out
	}()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	out, err := tpl.Execute(pongo2.Context{"slow": slow})
	if err != nil || out != "follower" {
		t.Fatalf("follower: %q, %v", out, err)
	}
	if el := time.Since(start); el < 30*time.Millisecond || el > 2*time.Second {
		t.Errorf("the follower waited %v", el)
	}
	close(release)
	if out := <-leader; out != "leader" {
		t.Errorf("leader: %q", out)
	}
	// The leader's body is what is stored.
	if out, _ := tpl.Execute(pongo2.Context{"slow": slow}); out != "leader" {
		t.Errorf("after: %q", out)
	}
	st := e.frags.Stats()
	if len(st) != 1 || st[0].WaitTimeouts != 1 || st[0].Renders != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCoalescingWaitDefault(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	c, _ := e.reg.Default()
	if g := e.frags.group(c); g.wait != 0 {
		t.Errorf("memory cache: wait %v, want none", g.wait)
	}
	// A fail-open cache: its operation timeout.
	rc, err := backends.Open("redis://127.0.0.1:1?op_timeout=77ms")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if g := e.frags.group(rc); g.wait != 77*time.Millisecond {
		t.Errorf("redis cache: wait %v, want its op_timeout", g.wait)
	}
}
