package tags

import (
	"bytes"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// CacheTagName is the name of the tag declaring content tags:
// {% cachetag "article:42" "author:7" %}. It is fragcache's own syntax:
// Django cannot parse a template using it.
const CacheTagName = "cachetag"

func init() { replaceTag(CacheTagName, parseCacheTagTag) }

// {% cachetag expr… %} declares the content tags its expressions evaluate
// to (strings; numbers as their decimal text) for what is being rendered:
// the innermost {% cache %} fragment rendering it, which stores them and
// declares them again on every hit, and through it every enclosing
// fragment and the page (cache.WithTags, which the page cache sets up per
// request). cache.PurgeTag (tags.Fragments.PurgeTag, the registry's)
// then deletes every fragment and page that declared the tag. It writes
// nothing. A value that is not a valid tag (cache.CheckTag) is a render
// error.
type cacheTagNode struct {
	start *pongo2.Token
	exprs []pongo2.IEvaluator
}

func parseCacheTagTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	n := &cacheTagNode{start: start}
	for args.Remaining() > 0 {
		e, perr := args.ParseExpression()
		if perr != nil {
			return nil, perr
		}
		n.exprs = append(n.exprs, e)
	}
	if len(n.exprs) == 0 {
		return nil, args.Error("'cachetag' tag requires at least one content tag.", start)
	}
	return n, nil
}

// Execute declares the tags.
func (n *cacheTagNode) Execute(ec *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	set := tagSetOf(ec)
	for _, e := range n.exprs {
		v, perr := e.Evaluate(ec)
		if perr != nil {
			return perr
		}
		tag := v.String()
		if err := cache.CheckTag(tag); err != nil {
			return tagError(ec.Error(err.Error(), n.start))
		}
		if set != nil {
			set.Add(tag)
		}
	}
	return nil
}

// tagSetKey is the Private key of the cache.TagSet of the fragment being
// rendered.
const tagSetKey = "_fragcache_tags"

// tagSetOf returns the set collecting the content tags declared in ec: the
// innermost fragment's, else the request's (cache.TagsFrom), or nil.
func tagSetOf(ec *pongo2.ExecutionContext) *cache.TagSet {
	if v, ok := lookup(ec, tagSetKey); ok {
		if s, ok := v.(*cache.TagSet); ok {
			return s
		}
	}
	return cache.TagsFrom(requestContext(ec))
}

// A fragment whose body declared content tags is stored with them ahead
// of the body: taggedMagic, the tags separated by spaces, a newline, then
// the body. No rendered body starts with a NUL byte, and Django never
// renders such a fragment (it cannot parse {% cachetag %}).
const taggedMagic = "\x00fctags1 "

// withTags returns body stored with tags (body itself without tags).
func withTags(body []byte, tags []string) []byte {
	if len(tags) == 0 {
		return body
	}
	n := len(taggedMagic) + len(body) + 1
	for _, t := range tags {
		n += len(t) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, taggedMagic...)
	b = append(b, strings.Join(tags, " ")...)
	b = append(b, '\n')
	return append(b, body...)
}

// splitTags returns the body of a stored fragment and the content tags
// stored with it (none for a plain fragment).
func splitTags(v []byte) (body []byte, tags string) {
	if len(v) == 0 || v[0] != 0 {
		return v, ""
	}
	if rest, ok := bytes.CutPrefix(v, []byte(taggedMagicStrict)); ok {
		line1, rest, ok1 := bytes.Cut(rest, []byte{'\n'})
		_, body, ok2 := bytes.Cut(rest, []byte{'\n'})
		if !ok1 || !ok2 {
			return v, ""
		}
		return body, string(line1)
	}
	if !bytes.HasPrefix(v, []byte(taggedMagic)) {
		return v, ""
	}
	rest := v[len(taggedMagic):]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return v, ""
	}
	return rest[i+1:], string(rest[:i])
}
