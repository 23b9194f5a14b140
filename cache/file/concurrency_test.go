package file

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// testSizes are the sizes of the values writers store, so that a torn read
// (part of one value, part of another) would show.
var testSizes = [...]int{64, 1000, 4097, 8192, 70_000, 200_000}

// testValue returns writer's value number n. It describes itself: it begins
// with "writer/n/size;" and the rest is derived from those, so checkValue
// can tell a whole value from a torn or mixed one.
func testValue(writer string, n int) []byte {
	size := testSizes[n%len(testSizes)]
	prefix := fmt.Sprintf("%s/%d/%d;", writer, n, size)
	b := make([]byte, size)
	copy(b, prefix)
	for i := len(prefix); i < size; i++ {
		b[i] = byte(i*31 + n*7 + len(writer))
	}
	return b
}

// checkValue reports an error unless v is exactly one value testValue
// returns; it returns the writer.
func checkValue(v []byte) (string, error) {
	head, _, ok := bytes.Cut(v, []byte(";"))
	if !ok || len(head) > 64 {
		return "", fmt.Errorf("value of %d bytes without a header", len(v))
	}
	parts := strings.Split(string(head), "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("bad header %q", head)
	}
	n, err1 := strconv.Atoi(parts[1])
	size, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("bad header %q", head)
	}
	if len(v) != size {
		return "", fmt.Errorf("value %q has %d bytes, want %d", head, len(v), size)
	}
	if !bytes.Equal(v, testValue(parts[0], n)) {
		return "", fmt.Errorf("value %q is not what was written", head)
	}
	return parts[0], nil
}

func TestConcurrentSameKey(t *testing.T) {
	ctx := context.Background()
	const writers, readers, perWriter = 8, 8, 40
	for _, tc := range []struct {
		name string
		opts Options
		keys int
		// steady: nothing deletes, so once a reader has hit it must never
		// miss (a torn file would be seen as corrupt, a miss).
		steady bool
	}{
		{"one key", Options{Now: time.Now}, 1, true},
		{"culling", Options{Now: time.Now, MaxEntries: 4, CullFrequency: 2}, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, tc.opts)
			var done atomic.Bool
			var hits atomic.Int64
			var wg, rg sync.WaitGroup
			fail := func(format string, args ...any) {
				t.Errorf(format, args...)
			}
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := "g" + strconv.Itoa(w)
					for n := 0; n < perWriter; n++ {
						key := "k" + strconv.Itoa(n%tc.keys)
						var err error
						switch n % 10 {
						case 7:
							_, err = s.Touch(ctx, key, cache.Seconds(60))
						case 8:
							_, err = s.Add(ctx, key, testValue(name, n), cache.Seconds(60))
						case 9:
							if w == 0 && !tc.steady {
								_, err = s.Delete(ctx, key)
								break
							}
							fallthrough
						default:
							err = s.Set(ctx, key, testValue(name, n), cache.Seconds(60))
						}
						if err != nil {
							fail("writer %s: %v", name, err)
							return
						}
					}
				}()
			}
			for r := 0; r < readers; r++ {
				rg.Add(1)
				go func() {
					defer rg.Done()
					hit := false
					for i := 0; ; i++ {
						stop := done.Load()
						key := "k" + strconv.Itoa(i%tc.keys)
						v, ok, err := s.Get(ctx, key)
						if err != nil {
							fail("Get: %v", err)
							return
						}
						if ok {
							hit = true
							hits.Add(1)
							if _, err := checkValue(v); err != nil {
								fail("torn read: %v", err)
								return
							}
						} else if hit && tc.steady {
							fail("miss after a hit: a reader saw a file being written")
							return
						}
						if _, err := s.Has(ctx, key); err != nil {
							fail("Has: %v", err)
							return
						}
						if stop {
							return
						}
					}
				}()
			}
			wg.Wait()
			done.Store(true)
			rg.Wait()
			if hits.Load() == 0 {
				t.Error("no reader ever hit")
			}
			// Nothing half-written or temporary is left.
			for _, name := range allFiles(t, s.Dir()) {
				if !strings.HasSuffix(name, Suffix) {
					t.Errorf("left behind: %s", name)
				}
			}
			t.Logf("%d hits", hits.Load())
		})
	}
}

// Environment of the helper process of TestConcurrentProcesses.
const (
	envHelperDir = "FRAGCACHE_FILE_TEST_HELPER_DIR"
	envHelperID  = "FRAGCACHE_FILE_TEST_HELPER_ID"
)

// TestHelperProcessWriter is not a test: TestConcurrentProcesses runs the
// test binary again with only this function and the environment above, to
// write and read a key from another process.
func TestHelperProcessWriter(t *testing.T) {
	dir := os.Getenv(envHelperDir)
	if dir == "" {
		return
	}
	ctx := context.Background()
	s, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	name := "p" + os.Getenv(envHelperID)
	for n := 0; n < 150; n++ {
		if err := s.Set(ctx, "shared", testValue(name, n), cache.Forever); err != nil {
			t.Fatalf("%s: Set: %v", name, err)
		}
		v, ok, err := s.Get(ctx, "shared")
		if err != nil {
			t.Fatalf("%s: Get: %v", name, err)
		}
		if ok {
			if _, err := checkValue(v); err != nil {
				t.Fatalf("%s: torn read: %v", name, err)
			}
		}
	}
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts other processes")
	}
	ctx := context.Background()
	s, _ := newStore(t, Options{Now: time.Now})

	const procs = 2
	type result struct {
		id  int
		out []byte
		err error
	}
	results := make(chan result, procs)
	for i := 0; i < procs; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), envHelperDir+"="+s.Dir(), envHelperID+"="+strconv.Itoa(i))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{i, out, err}
		}()
	}

	seen := map[string]int{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stop atomic.Bool
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "g" + strconv.Itoa(g)
			for n := 0; !stop.Load(); n++ {
				if g%2 == 0 {
					if err := s.Set(ctx, "shared", testValue(name, n), cache.Forever); err != nil {
						t.Errorf("Set: %v", err)
						return
					}
				}
				v, ok, err := s.Get(ctx, "shared")
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if !ok {
					continue
				}
				w, err := checkValue(v)
				if err != nil {
					t.Errorf("torn read: %v", err)
					return
				}
				mu.Lock()
				seen[w]++
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < procs; i++ {
		r := <-results
		if r.err != nil {
			t.Errorf("helper process %d: %v\n%s", r.id, r.err, r.out)
		}
	}
	stop.Store(true)
	wg.Wait()
	v, ok, err := s.Get(ctx, "shared")
	if err != nil || !ok {
		t.Fatalf("final Get = %v, %v", ok, err)
	}
	if _, err := checkValue(v); err != nil {
		t.Errorf("final value: %v", err)
	}
	fromProcs := 0
	for w, n := range seen {
		if strings.HasPrefix(w, "p") {
			fromProcs += n
		}
	}
	t.Logf("values read by writer: %v", seen)
	if fromProcs == 0 {
		t.Log("never read a value written by another process (timing); the helpers checked their own reads")
	}
	for _, name := range allFiles(t, s.Dir()) {
		if !strings.HasSuffix(name, Suffix) {
			t.Errorf("left behind: %s", name)
		}
	}
}
