package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Well-known aliases, as in Django's CACHES setting.
const (
	// DefaultAlias is the cache used when no other is named.
	DefaultAlias = "default"
	// FragmentsAlias is the cache the {% cache %} tag uses when it exists
	// (Django's "template_fragments"); otherwise the tag uses DefaultAlias.
	FragmentsAlias = "template_fragments"
)

// Registry maps aliases ("default", "template_fragments", any name) to
// caches, like Django's CACHES. It is fixed once built, so looking a cache
// up takes no lock. Each cache keeps its own Django release (django= on its
// URL, or WithDjango), and so the key scheme of the fragments written to it.
type Registry struct {
	caches map[string]*Cache
	urls   map[string]string // alias → redacted URL (OpenRegistry)

	mu            sync.Mutex
	invalidations []Invalidation // the latest, oldest first
}

// Invalidation is one InvalidateFragment or InvalidateFragmentIn call, as
// Registry.RecentInvalidations reports it.
type Invalidation struct {
	At      time.Time
	Alias   string // "" for the fragments cache
	Name    string
	Key     string // the made key ("<made name prefix>.*" for every variant)
	Deleted bool
	// Variants is how many variants an InvalidateFragmentVariants call
	// deleted; 0 for an invalidation of one variant.
	Variants int
	Err      string // "" when the call succeeded
}

// recentInvalidations is how many invalidations a Registry remembers.
const recentInvalidations = 20

// NewRegistry returns a registry of the given caches. Aliases must be
// non-empty and caches non-nil.
func NewRegistry(caches map[string]*Cache) (*Registry, error) {
	r := &Registry{caches: make(map[string]*Cache, len(caches))}
	for alias, c := range caches {
		if alias == "" {
			return nil, fmt.Errorf("%w: empty cache alias", ErrInvalidOption)
		}
		if c == nil {
			return nil, fmt.Errorf("%w: nil cache for alias %q", ErrInvalidOption, alias)
		}
		r.caches[alias] = c
	}
	return r, nil
}

// OpenRegistry opens one cache per alias from URLs with the given openers
// (cache/backends has a registry opener with every built-in backend). URLs
// naming the same in-memory store share it. On an error, the caches already
// opened are closed and the error names the alias.
func OpenRegistry(urls map[string]string, schemes Schemes, opts ...Option) (*Registry, error) {
	aliases := make([]string, 0, len(urls))
	for a := range urls {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases) // deterministic: shared stores take the first alias's options
	shared := map[string]any{}
	caches := make(map[string]*Cache, len(urls))
	for _, alias := range aliases {
		u, err := ParseURL(urls[alias])
		if err == nil {
			u.Shared = shared
			var c *Cache
			if c, err = openParsed(u, schemes, append([]Option{WithName(alias)}, opts...)); err == nil {
				caches[alias] = c
				continue
			}
		}
		for _, c := range caches {
			c.Close()
		}
		return nil, fmt.Errorf("cache alias %q: %w", alias, err)
	}
	r, err := NewRegistry(caches)
	if err != nil {
		return nil, err
	}
	r.urls = make(map[string]string, len(urls))
	for alias, u := range urls {
		r.urls[alias] = Redact(u)
	}
	return r, nil
}

// URL returns the URL the cache of an alias was opened from, with any
// password redacted; "" for a registry not opened from URLs.
func (r *Registry) URL(alias string) string { return r.urls[alias] }

// RecentInvalidations returns the latest invalidations by name (at most
// 20), newest first: for a debug page.
func (r *Registry) RecentInvalidations() []Invalidation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Invalidation, len(r.invalidations))
	for i, inv := range r.invalidations {
		out[len(out)-1-i] = inv
	}
	return out
}

// remember records an invalidation.
func (r *Registry) remember(alias, name string, c *Cache, key string, deleted bool, err error) {
	inv := Invalidation{At: time.Now(), Alias: alias, Name: name, Key: c.MakeKey(key), Deleted: deleted}
	if err != nil {
		inv.Err = err.Error()
	}
	r.record(inv)
}

// record remembers an invalidation.
func (r *Registry) record(inv Invalidation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.invalidations) == recentInvalidations {
		copy(r.invalidations, r.invalidations[1:])
		r.invalidations = r.invalidations[:recentInvalidations-1]
	}
	r.invalidations = append(r.invalidations, inv)
}

// Cache returns the cache of an alias, or an error wrapping ErrUnknownAlias
// with Django's message: The connection 'x' doesn't exist.
func (r *Registry) Cache(alias string) (*Cache, error) {
	if c, ok := r.caches[alias]; ok {
		return c, nil
	}
	return nil, &UnknownAliasError{Alias: alias}
}

// Default returns the "default" cache.
func (r *Registry) Default() (*Cache, error) { return r.Cache(DefaultAlias) }

// Fragments returns the cache the {% cache %} tag uses without using=:
// "template_fragments" when it exists, else "default".
func (r *Registry) Fragments() (*Cache, error) {
	if c, ok := r.caches[FragmentsAlias]; ok {
		return c, nil
	}
	return r.Cache(DefaultAlias)
}

// Aliases returns the aliases, sorted.
func (r *Registry) Aliases() []string {
	out := make([]string, 0, len(r.caches))
	for a := range r.caches {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Close closes every cache and returns their errors joined.
func (r *Registry) Close() error {
	var errs []error
	for _, a := range r.Aliases() {
		if err := r.caches[a].Close(); err != nil {
			errs = append(errs, fmt.Errorf("cache alias %q: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

// UnknownAliasError is the error for an alias a Registry does not have.
type UnknownAliasError struct{ Alias string }

// Error returns Django's message: The connection 'x' doesn't exist.
func (e *UnknownAliasError) Error() string {
	return "The connection '" + e.Alias + "' doesn't exist."
}

// Is makes errors.Is(err, ErrUnknownAlias) true.
func (e *UnknownAliasError) Is(target error) bool { return target == ErrUnknownAlias }

// InvalidateFragment deletes the fragment the {% cache %} tag stores for a
// name and vary values in the fragments cache (see Fragments), with that
// cache's key scheme, and reports whether something was deleted.
//
// When nothing was deleted but an entry exists under the other key scheme,
// the cache's Django release is likely wrong (a Django 5.2 app writes
// legacy keys, and a cache without django= uses 6.1's): that is logged at
// Warn level through the cache's logger, naming both keys.
func (r *Registry) InvalidateFragment(ctx context.Context, name string, vary ...any) (bool, error) {
	c, err := r.Fragments()
	if err != nil {
		return false, err
	}
	deleted, err := invalidateFragment(ctx, c, name, vary)
	r.remember("", name, c, c.KeyScheme().FragmentKey(name, vary...), deleted, err)
	return deleted, err
}

// InvalidateFragmentIn is InvalidateFragment for the cache of an alias (the
// tag's using="alias").
func (r *Registry) InvalidateFragmentIn(ctx context.Context, alias, name string, vary ...any) (bool, error) {
	c, err := r.Cache(alias)
	if err != nil {
		return false, err
	}
	deleted, err := invalidateFragment(ctx, c, name, vary)
	r.remember(alias, name, c, c.KeyScheme().FragmentKey(name, vary...), deleted, err)
	return deleted, err
}

func invalidateFragment(ctx context.Context, c *Cache, name string, vary []any) (bool, error) {
	key := c.KeyScheme().FragmentKey(name, vary...)
	deleted, err := c.Delete(ctx, key)
	if err != nil || deleted || c.logger == nil {
		return deleted, err
	}
	if other, found := OtherSchemeFragment(ctx, c, name, vary...); found {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "fragcache: invalidating a fragment deleted nothing, but an entry exists under the other key scheme: is django= on the cache URL the release sharing the cache?",
			slog.String("key", c.MakeKey(key)), slog.String("found", c.MakeKey(other)),
			slog.String("scheme", c.KeyScheme().String()), slog.String("django", c.Django().String()))
	}
	return deleted, nil
}

// InvalidateFragmentVariants deletes every variant of the {% cache %}
// fragment name (every vary-on value) from the fragments cache (see
// Fragments), and returns how many entries it deleted: see
// Cache.InvalidateFragmentVariants for what each backend finds.
func (r *Registry) InvalidateFragmentVariants(ctx context.Context, name string) (int, error) {
	c, err := r.Fragments()
	if err != nil {
		return 0, err
	}
	return r.invalidateVariants(ctx, "", c, name)
}

// InvalidateFragmentVariantsIn is InvalidateFragmentVariants for the cache
// of an alias (the tag's using="alias").
func (r *Registry) InvalidateFragmentVariantsIn(ctx context.Context, alias, name string) (int, error) {
	c, err := r.Cache(alias)
	if err != nil {
		return 0, err
	}
	return r.invalidateVariants(ctx, alias, c, name)
}

func (r *Registry) invalidateVariants(ctx context.Context, alias string, c *Cache, name string) (int, error) {
	n, err := c.InvalidateFragmentVariants(ctx, name)
	inv := Invalidation{At: time.Now(), Alias: alias, Name: name, Key: c.MakeKey(FragmentKeyPrefix+name) + ".*", Deleted: n > 0, Variants: n}
	if err != nil {
		inv.Err = err.Error()
	}
	r.record(inv)
	return n, err
}

// OtherSchemeFragment reports whether c holds the fragment of name and
// vary under the key scheme c does not use, and returns that key: a sign
// that the cache is shared with a Django release other than the one c is
// configured for (see WithDjango). Without vary values both schemes give
// the same key, and found is false.
func OtherSchemeFragment(ctx context.Context, c *Cache, name string, vary ...any) (key string, found bool) {
	if len(vary) == 0 {
		return "", false
	}
	other := KeySchemeLegacy
	if c.KeyScheme() == KeySchemeLegacy {
		other = KeySchemeDjango61
	}
	key = other.FragmentKey(name, vary...)
	found, err := c.Has(ctx, key)
	return key, found && err == nil
}
