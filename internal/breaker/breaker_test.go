package breaker

import (
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	b := &Breaker{Threshold: 2, CoolDown: time.Second, Now: func() time.Time { return now }}
	type step struct {
		name      string
		do        func()
		state     State
		allow     bool // what Allow answers next (not called for the last step)
		wantProbe bool
	}
	var probe bool
	fail := func() { b.Failure(probe); probe = false }
	steps := []step{
		{"start", func() {}, Closed, true, false},
		{"one failure", fail, Closed, true, false},
		{"success resets the run", func() { b.Success(false) }, Closed, true, false},
		{"one failure again", fail, Closed, true, false},
		{"threshold", fail, Open, false, false},
		{"cool-down not over", func() { now = now.Add(999 * time.Millisecond) }, Open, false, false},
		{"cool-down over", func() { now = now.Add(time.Millisecond) }, Open, true, true},
	}
	for _, s := range steps {
		s.do()
		if got := b.State(); got != s.state {
			t.Fatalf("%s: state %v, want %v", s.name, got, s.state)
		}
		ok, p := b.Allow()
		if ok != s.allow || p != s.wantProbe {
			t.Fatalf("%s: Allow() = %v, %v; want %v, %v", s.name, ok, p, s.allow, s.wantProbe)
		}
		probe = p
	}
	// Half-open: the others wait.
	if ok, _ := b.Allow(); ok || b.State() != HalfOpen {
		t.Fatalf("second call while half-open: allowed %v, state %v", ok, b.State())
	}
	// A neutral probe leaves it open, ready to probe at once.
	b.Neutral(true)
	if ok, p := b.Allow(); !ok || !p {
		t.Fatal("no probe after a neutral one")
	}
	// A failed probe opens it for another cool-down.
	if opened, cool := b.Failure(true); !opened || cool != time.Second || b.State() != Open || !b.OpenUntil().Equal(now.Add(time.Second)) {
		t.Fatalf("failed probe: opened %v for %v, state %v until %v", opened, cool, b.State(), b.OpenUntil())
	}
	now = now.Add(time.Second)
	if _, p := b.Allow(); !p {
		t.Fatal("no probe after the second cool-down")
	}
	if !b.Success(true) || b.State() != Closed || !b.OpenUntil().IsZero() || b.Opens() != 2 {
		t.Fatalf("successful probe: state %v, opens %d", b.State(), b.Opens())
	}
}

func TestJitter(t *testing.T) {
	b := &Breaker{Threshold: 1, CoolDown: time.Second, Jitter: 0.5}
	for range 50 {
		_, cool := b.Failure(true)
		if cool < time.Second || cool > 1500*time.Millisecond {
			t.Fatalf("cool-down %v out of [1s, 1.5s]", cool)
		}
		b.Success(true)
	}
}

func TestLimiter(t *testing.T) {
	var l Limiter
	t0 := time.Unix(1000, 0)
	for i, tt := range []struct {
		at         time.Duration
		ok         bool
		suppressed uint64
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{5 * time.Second, false, 0},
		{10 * time.Second, true, 2},
		{11 * time.Second, false, 0},
		{30 * time.Second, true, 1},
	} {
		ok, n := l.Allow(t0.Add(tt.at), 10*time.Second)
		if ok != tt.ok || n != tt.suppressed {
			t.Errorf("event %d at +%v: %v, %d suppressed; want %v, %d", i, tt.at, ok, n, tt.ok, tt.suppressed)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half-open", 9: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
}
