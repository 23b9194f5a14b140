package memory

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// TestMostRecentlyUsedFastPath checks that the lock-free read of the most
// recently used entry never outlives a change made before it.
func TestMostRecentlyUsedFastPath(t *testing.T) {
	clock := newClock()
	s, err := New(Options{Now: clock.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hit := func(key string) (string, bool) {
		v, ok, _ := s.Get(ctx, key)
		kv, kok, _ := s.GetKeyBytes(ctx, []byte(key))
		if ok != kok || string(v) != string(kv) {
			t.Fatalf("Get and GetKeyBytes disagree on %q: %q %v / %q %v", key, v, ok, kv, kok)
		}
		return string(v), ok
	}
	steps := []struct {
		name string
		do   func()
		key  string
		want string // "" = miss
	}{
		{"set", func() { s.Set(ctx, "a", []byte("1"), cache.Seconds(10)) }, "a", "1"},
		{"overwrite", func() { s.Set(ctx, "a", []byte("2"), cache.Seconds(10)) }, "a", "2"},
		{"incr", func() { s.Incr(ctx, "a", 5) }, "a", "7"},
		{"touch expired", func() { s.Touch(ctx, "a", cache.Expired) }, "a", ""},
		{"set again", func() { s.Set(ctx, "a", []byte("3"), cache.Seconds(10)) }, "a", "3"},
		{"expire by clock", func() { clock.Advance(10 * time.Second) }, "a", ""},
		{"set b", func() { s.Set(ctx, "b", []byte("x"), cache.Forever) }, "b", "x"},
		{"delete b", func() { s.Delete(ctx, "b") }, "b", ""},
		{"set c", func() { s.Set(ctx, "c", []byte("y"), cache.Forever) }, "c", "y"},
		{"clear", func() { s.Clear(ctx) }, "c", ""},
	}
	for _, st := range steps {
		st.do()
		v, ok := hit(st.key)
		if (st.want == "") == ok || v != st.want {
			t.Errorf("after %s: Get(%q) = %q, %v; want %q", st.name, st.key, v, ok, st.want)
		}
	}
}

// TestHotKeyRace reads one hot key from many goroutines while others
// rewrite, touch, delete and push it out of the front; run with -race.
func TestHotKeyRace(t *testing.T) {
	s, err := New(Options{MaxEntries: 20, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v, ok, _ := s.Get(ctx, "hot"); ok {
					if _, err := strconv.Atoi(string(v)); err != nil {
						t.Errorf("hot holds %q", v)
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 3000; i++ {
		switch i % 5 {
		case 0:
			s.Set(ctx, "hot", []byte(strconv.Itoa(i)), cache.Seconds(60))
		case 1:
			s.Incr(ctx, "hot", 1)
		case 2:
			s.Touch(ctx, "hot", cache.Seconds(30))
		case 3:
			s.Set(ctx, "k"+strconv.Itoa(i%40), []byte("1"), cache.Seconds(60))
		case 4:
			s.Delete(ctx, "hot")
		}
	}
	close(stop)
	wg.Wait()
}
