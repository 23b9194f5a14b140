package memory

import (
	"fmt"
	"math"

	"github.com/fragcache/fragcache/cache"
)

// Open is the cache.Opener for memory URLs:
//
//	memory://[name]?max_entries=300&cull_frequency=3&max_bytes=64MiB&sweep_interval=1m
//
// cull_frequency=0 clears everything when full, as Django's CULL_FREQUENCY 0
// does. Within one cache.OpenRegistry call, aliases naming the same store
// share it (as Django's LOCATION does); the first URL's options configure it,
// and a later URL naming the store with different options is an error.
func Open(u *cache.URL) (cache.Backend, error) {
	var opts Options
	if err := u.Read(
		cache.URLInt("max_entries", &opts.MaxEntries, 1, math.MaxInt32),
		cache.URLInt("cull_frequency", &opts.CullFrequency, 0, math.MaxInt32),
		cache.URLSize("max_bytes", &opts.MaxBytes),
		cache.URLDuration("sweep_interval", &opts.SweepInterval),
	); err != nil {
		return nil, err
	}
	if u.Has("cull_frequency") && opts.CullFrequency == 0 {
		opts.CullFrequency = CullAll
	}
	if u.Has("max_bytes") && opts.MaxBytes == 0 {
		return nil, u.OptionError("max_bytes", "a positive size")
	}
	if u.Has("sweep_interval") && opts.SweepInterval == 0 {
		opts.SweepInterval = -1 // 0 turns the sweep off
	}
	if u.Shared == nil {
		return New(opts)
	}
	id := "memory://" + u.Location
	if prev, ok := u.Shared[id].(shared); ok {
		if prev.opts.MaxEntries != opts.MaxEntries || prev.opts.CullFrequency != opts.CullFrequency ||
			prev.opts.MaxBytes != opts.MaxBytes || prev.opts.SweepInterval != opts.SweepInterval {
			return nil, fmt.Errorf("%w: cache URL %q names store %q again with different options", cache.ErrInvalidOption, u.Redacted(), u.Location)
		}
		return prev.store, nil
	}
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	u.Shared[id] = shared{s, opts}
	return s, nil
}

type shared struct {
	store *Store
	opts  Options
}
