package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"
)

// Content tags (surrogate keys, as Fastly calls them) say what a cached
// page or fragment depends on: "article:42", "author:7". A render declares
// them (DeclareTags; the {% cachetag %} template tag; a Surrogate-Key
// response header for the page cache), each entry stored is indexed under
// each of its tags (IndexTags), and PurgeTag deletes every entry that
// declared a tag, in every process sharing the backend.
//
// Declarations flow outwards: a fragment's tags are stored with it and
// declared again on every hit, so that the fragment, page or collector
// enclosing it (WithTags) gets them too, whether it rendered or hit.

// MaxTagLen bounds a content tag: 200 bytes.
const MaxTagLen = 200

// CheckTag reports what is wrong with a content tag, or nil: a tag is 1 to
// MaxTagLen bytes of valid UTF-8 without white space or control
// characters (a Surrogate-Key header separates tags with spaces).
func CheckTag(tag string) error {
	switch {
	case tag == "":
		return fmt.Errorf("%w: an empty content tag", ErrInvalidOption)
	case len(tag) > MaxTagLen:
		return fmt.Errorf("%w: content tag %.40q…: %d bytes (at most %d)", ErrInvalidOption, tag, len(tag), MaxTagLen)
	case !utf8.ValidString(tag):
		return fmt.Errorf("%w: content tag %q is not valid UTF-8", ErrInvalidOption, tag)
	}
	for _, r := range tag {
		if r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%w: content tag %q holds white space or a control character", ErrInvalidOption, tag)
		}
	}
	return nil
}

// TagSet collects the content tags declared during a render (a page, a
// fragment). Tags added to a set are added to its parent too. It is safe
// for concurrent use; the zero value is an empty set without a parent.
type TagSet struct {
	parent *TagSet
	mu     sync.Mutex
	tags   []string // sorted, unique
}

// NewTagSet returns an empty set whose tags flow to parent (nil: none).
func NewTagSet(parent *TagSet) *TagSet { return &TagSet{parent: parent} }

// Add adds tags (already checked, see CheckTag) to s and its ancestors.
func (s *TagSet) Add(tags ...string) {
	for t := s; t != nil; t = t.parent {
		t.mu.Lock()
		for _, tag := range tags {
			if i, found := slices.BinarySearch(t.tags, tag); !found {
				t.tags = slices.Insert(t.tags, i, tag)
			}
		}
		t.mu.Unlock()
	}
}

// Tags returns the tags of s, sorted.
func (s *TagSet) Tags() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tags)
}

type tagSetKey struct{}

// WithTags returns a context carrying a new TagSet, nested in the one ctx
// carries (its tags flow there too), and the set: the page cache makes one
// per request it may store, and reads it when the handler is done.
func WithTags(ctx context.Context) (context.Context, *TagSet) {
	s := NewTagSet(TagsFrom(ctx))
	return context.WithValue(ctx, tagSetKey{}, s), s
}

// TagsFrom returns the TagSet ctx carries, or nil.
func TagsFrom(ctx context.Context) *TagSet {
	s, _ := ctx.Value(tagSetKey{}).(*TagSet)
	return s
}

// DeclareTags declares that what is being rendered with ctx depends on
// tags: they are added to the TagSet ctx carries (none: nothing happens),
// and so stored with the page the page cache stores for the request, so
// that PurgeTag of any of them deletes it. An invalid tag (CheckTag) is an
// error, and no tag is declared then.
func DeclareTags(ctx context.Context, tags ...string) error {
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
	}
	if s := TagsFrom(ctx); s != nil {
		s.Add(tags...)
	}
	return nil
}

// TagIndexKey returns the key of the index of the entries declaring tag,
// for the made key madeTagKey of "fragcache.tag.<tag>":
// SideKey(madeTagKey, "tagged").
func TagIndexKey(madeTagKey string) string { return SideKey(madeTagKey, "tagged") }

// tagIndex returns the index key of tag in c.
func (c *Cache) tagIndex(tag string) string { return TagIndexKey(c.MakeKey("fragcache.tag." + tag)) }

// IndexTags records that the entry stored under key (a caller's key) for
// timeout declared tags, so that PurgeTag of any of them deletes it. Call
// it after storing the entry; the page cache and the {% cache %} tag do.
// Each index lives at least as long as the entries it lists. A cache whose
// backend keeps no indexes (the dummy backend) fails with an error
// wrapping errors.ErrUnsupported.
func (c *Cache) IndexTags(ctx context.Context, key string, tags []string, timeout Timeout) error {
	if len(tags) == 0 {
		return nil
	}
	mk, err := c.key(ctx, key)
	if err != nil {
		return err
	}
	if c.indexer == nil {
		return fmt.Errorf("cache: content tags on a %T backend: %w", c.backend, errors.ErrUnsupported)
	}
	if timeout == DefaultTimeout {
		timeout = c.defaultTimeout
	}
	var errs []error
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := c.indexer.IndexAdd(ctx, c.tagIndex(t), mk, timeout); err != nil {
			errs = append(errs, fmt.Errorf("indexing %q under content tag %q: %w", mk, t, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.index.errors.Add(1)
		return c.fail(err)
	}
	c.index.adds.Add(uint64(len(tags)))
	return nil
}

// PurgeTag deletes every entry of c that declared tag (IndexTags: pages
// and fragments), in every process sharing the backend, with their side
// keys, and the tag's index, after giving the tag a new version
// (TagVersionKey). It returns how many entries it deleted. An
// entry whose index was evicted before the purge (memcached's LRU, Redis
// under maxmemory with an allkeys policy) is not found: see each backend's
// documentation. A render in flight during the purge may store what it
// rendered from data older than the purge, as with any deletion.
func (c *Cache) PurgeTag(ctx context.Context, tag string) (int, error) {
	if err := c.usable(ctx); err != nil {
		return 0, err
	}
	if err := CheckTag(tag); err != nil {
		return 0, err
	}
	if c.indexer == nil {
		return 0, fmt.Errorf("cache: content tags on a %T backend: %w", c.backend, errors.ErrUnsupported)
	}
	// A new version first: entries that recorded the old one (a
	// {% cache %} tag with StrictTags) are stale from now on, even those
	// whose index was evicted.
	if err := c.Set(ctx, TagVersionKey(tag), []byte(NewLeaseToken()[:16]), Forever); err != nil {
		return 0, fmt.Errorf("cache: purging content tag %q: a new version: %w", tag, err)
	}
	deleted, err := c.deleteIndexed(ctx, c.tagIndex(tag), nil)
	if err != nil {
		return deleted, c.fail(fmt.Errorf("cache: purging content tag %q: %w", tag, err))
	}
	return deleted, nil
}

// TagVersionKey returns the key (a caller's key) of the version of tag:
// "fragcache.tagv.<tag>", a random token PurgeTag replaces on every purge,
// without expiry. Entries that record the versions of their tags when
// stored (the {% cache %} tag with tags.Options.StrictTags) are stale once
// one of them changed.
func TagVersionKey(tag string) string { return "fragcache.tagv." + tag }

// TagVersions returns the current version of each of tags ("" for a tag
// never purged, or whose version the backend evicted), in one multi-get.
func (c *Cache) TagVersions(ctx context.Context, tags []string) ([]string, error) {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = TagVersionKey(t)
	}
	got, err := c.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(tags))
	for i, k := range keys {
		out[i] = string(got[k])
	}
	return out, nil
}

// PurgeTag deletes every entry that declared tag from every cache of the
// registry (see Cache.PurgeTag), and returns how many it deleted. Caches
// whose backend keeps no indexes are skipped; an alias that shares a store
// with another is purged once per alias (the second finds nothing).
func (r *Registry) PurgeTag(ctx context.Context, tag string) (int, error) {
	if err := CheckTag(tag); err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, alias := range r.Aliases() {
		c := r.caches[alias]
		if c.indexer == nil {
			continue
		}
		d, err := c.PurgeTag(ctx, tag)
		n += d
		if err != nil {
			errs = append(errs, fmt.Errorf("cache alias %q: %w", alias, err))
		}
	}
	return n, errors.Join(errs...)
}
