package tags

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// Strict content tags (Options.StrictTags). cache.PurgeTag gives a tag a
// new version (cache.TagVersionKey) before deleting what its index lists;
// with StrictTags a fragment records, when stored, the versions its tags
// had, and a hit whose recorded versions are no longer current is stale:
// it is deleted and rendered again. That covers the one case a plain
// purge misses, an index the backend evicted before its entries (the
// version keys, without expiry, are evicted last of all). The versions
// are read with the fragments in the prefetch multi-get: the planned
// tags' {% cachetag %} expressions are evaluated ahead, as their vary-on
// arguments are; a tag that could not be foreseen costs one more read.
//
// A stored strict fragment is taggedMagicStrict, its tags, a newline,
// their versions ("-" for none), a newline, then the body.
const taggedMagicStrict = "\x00fctags2 "

// cacheTagsOf returns the {% cachetag %} nodes of n's body (nested
// fragments and templates included by a literal name too), found once.
func (n *cacheNode) cacheTagsOf() []*cacheTagNode {
	n.tagNodes.once.Do(func() {
		defer func() { _ = recover() }() // an unexpected layout: none foreseen
		treeWalk(reflect.ValueOf(n.body), map[visit]bool{}, func(p reflect.Value) bool {
			if p.Type() == typeOfCacheTagNode {
				n.tagNodes.nodes = append(n.tagNodes.nodes, (*cacheTagNode)(p.UnsafePointer()))
				return false
			}
			return true
		})
	})
	return n.tagNodes.nodes
}

var typeOfCacheTagNode = reflect.TypeOf((*cacheTagNode)(nil))

// tagNodes is what cacheTagsOf found.
type tagNodes struct {
	once  sync.Once
	nodes []*cacheTagNode
}

// foreseeTags evaluates, in ec, the {% cachetag %} expressions of n's
// body, skipping those that do not evaluate there.
func (n *cacheNode) foreseeTags(ec *pongo2.ExecutionContext) []string {
	var tags []string
	for _, tn := range n.cacheTagsOf() {
		for _, e := range tn.exprs {
			if v, perr := e.Evaluate(ec); perr == nil && cache.CheckTag(v.String()) == nil {
				tags = append(tags, v.String())
			}
		}
	}
	return tags
}

// stamp returns a rendered body with tags (withTags) recording their
// current versions, for StrictTags; the body unchanged without tags, or
// when the versions cannot be read (then the fragment is stored as a
// plain tagged one, checked by no version).
func stamp(ctx context.Context, c *cache.Cache, body []byte) []byte {
	rest, tags := splitTags(body)
	if tags == "" {
		return body
	}
	names := strings.Fields(tags)
	vers, err := c.TagVersions(ctx, names)
	if err != nil {
		return body
	}
	for i, v := range vers {
		if v == "" {
			vers[i] = "-"
		}
	}
	b := make([]byte, 0, len(taggedMagicStrict)+len(tags)+len(rest)+20*len(names))
	b = append(b, taggedMagicStrict...)
	b = append(b, tags...)
	b = append(b, '\n')
	b = append(b, strings.Join(vers, " ")...)
	b = append(b, '\n')
	return append(b, rest...)
}

// splitStrict returns the tags and recorded versions of a strict stored
// fragment, or false for any other value.
func splitStrict(v []byte) (tags, vers []string, ok bool) {
	rest, found := bytes.CutPrefix(v, []byte(taggedMagicStrict))
	if !found {
		return nil, nil, false
	}
	line1, rest, ok1 := bytes.Cut(rest, []byte{'\n'})
	line2, _, ok2 := bytes.Cut(rest, []byte{'\n'})
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	tags, vers = strings.Fields(string(line1)), strings.Fields(string(line2))
	return tags, vers, len(tags) == len(vers)
}

// purged reports whether a stored fragment v was stored before a purge of
// one of its tags (StrictTags): a version it recorded is no longer the
// current one. The current versions come from pf's prefetch when it read
// them, else from one read.
func purged(ctx context.Context, c *cache.Cache, pf *Prefetch, v []byte) bool {
	if len(v) == 0 || v[0] != 0 {
		return false
	}
	tags, vers, ok := splitStrict(v)
	if !ok {
		return false
	}
	cur := make([]string, len(tags))
	var missing []int
	for i, t := range tags {
		if got, known := pf.version(c, t); known {
			cur[i] = got
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for j, i := range missing {
			names[j] = tags[i]
		}
		got, err := c.TagVersions(ctx, names)
		if err != nil {
			return false // the cache failed: serve what it had, as on any hit
		}
		for j, i := range missing {
			cur[i] = got[j]
		}
	}
	for i := range tags {
		want := cur[i]
		if want == "" {
			want = "-"
		}
		if vers[i] != want {
			return true
		}
	}
	return false
}
