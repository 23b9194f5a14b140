package pagecache

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
)

// DefaultMaxBodySize is the largest response body the page cache stores
// when WithMaxBodySize is not given: 1 MiB, memcached's default item size.
const DefaultMaxBodySize = 1 << 20

// DefaultSessionCookie is the cookie WithAnonymousOnly looks for when it is
// given no name: Django's SESSION_COOKIE_NAME.
const DefaultSessionCookie = "sessionid"

// errNoCache is the configuration error of a page cache without a cache.
var errNoCache = errors.New("pagecache: page cache needs WithCache or WithRegistry")

// Option configures a page cache (New, Page, Site, and the functions
// built on New: GetCacheKey, LearnCacheKey, Invalidate) or a key builder
// (NewKeys, which reads only the key options). An option records its value;
// New and NewKeys validate them and return the first error.
type Option func(*config)

// config is the resolved configuration.
type config struct {
	cache    *cache.Cache
	registry *cache.Registry
	alias    string

	keys keyConfig

	// cacheSeconds is Django's cache_timeout (CACHE_MIDDLEWARE_SECONDS);
	// pageTimeout its page_timeout (nil: use the response's max-age).
	cacheSeconds int
	pageTimeout  *cache.Timeout

	maxBody     int
	anonOnly    bool
	anonCookie  string
	cacheStatus bool
	coalesce    bool
	// serverTiming adds the Server-Timing header (WithServerTiming).
	serverTiming bool
	// coalesceWait bounds a follower's wait (0: the cache's operation
	// timeout, or none); coalesceWaitSet says WithCoalescingWait was given.
	coalesceWait    time.Duration
	coalesceWaitSet bool
	logger          *slog.Logger
	now             func() time.Time
	// lists is how many header lists are remembered for single-read hits
	// (WithHeaderListMemory; 0: none); listsSet says the option was given.
	lists    int
	listsSet bool
	// stampede is the cross-process stampede protection (WithStampede);
	// stampedeSet says the option was given (else: the cache's).
	stampede    cache.Stampede
	stampedeSet bool
	// tagHeader is the response header declaring content tags
	// (WithSurrogateKeys), kept in the response when keepTagHeader.
	tagHeader     string
	keepTagHeader bool

	schemeSet bool
	djangoSet bool
	err       error

	// onJoin, for tests, is called when a request starts waiting for
	// another one's response.
	onJoin func()
}

// keyConfig is what page keys depend on.
type keyConfig struct {
	prefix string
	scheme cache.PageKeyVariant
	// language and timeZone give the i18n suffix; a non-nil language also
	// drops Accept-Language from learned header lists (USE_I18N).
	language func(*http.Request) string
	timeZone func(*http.Request) string
	// proxyHeader/proxyValue is Django's SECURE_PROXY_SSL_HEADER with the
	// header in canonical form.
	proxyHeader, proxyValue string
	// forwardedHost is Django's USE_X_FORWARDED_HOST.
	forwardedHost bool
}

func newConfig(opts []Option) *config {
	c := &config{
		alias:        cache.DefaultAlias,
		cacheSeconds: httpx.DefaultCacheSeconds,
		maxBody:      DefaultMaxBodySize,
		anonCookie:   DefaultSessionCookie,
		cacheStatus:  true,
		coalesce:     true,
		now:          time.Now,
		tagHeader:    DefaultSurrogateKeyHeader,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// resolveCache returns the cache the options name.
func (c *config) resolveCache() (*cache.Cache, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.cache != nil {
		return c.cache, nil
	}
	if c.registry != nil {
		return c.registry.Cache(c.alias)
	}
	return nil, errNoCache
}

// WithCache makes the page cache store pages in c. It wins over
// WithRegistry.
func WithCache(c *cache.Cache) Option {
	return func(p *config) {
		if c == nil {
			p.err = fmt.Errorf("%w: nil cache", cache.ErrInvalidOption)
			return
		}
		p.cache = c
	}
}

// WithRegistry makes the page cache store pages in the registry's cache
// of the alias (WithAlias; "default" unless given), Django's
// CACHE_MIDDLEWARE_ALIAS or cache_page(cache=…). Unless WithDjango or
// WithKeyScheme is given, page keys are those of that cache's Django
// release (cache.Cache.Django).
func WithRegistry(r *cache.Registry) Option {
	return func(p *config) {
		if r == nil {
			p.err = fmt.Errorf("%w: nil registry", cache.ErrInvalidOption)
			return
		}
		p.registry = r
	}
}

// WithAlias names the registry's cache to use (default "default").
func WithAlias(alias string) Option {
	return func(p *config) {
		if alias == "" {
			alias = cache.DefaultAlias // Django: None becomes 'default'
		}
		p.alias = alias
	}
}

// WithKeyPrefix sets the key prefix of page keys, Django's
// CACHE_MIDDLEWARE_KEY_PREFIX or cache_page(key_prefix=…) (default "").
// It is not the cache's own KEY_PREFIX, which the cache adds to every key.
func WithKeyPrefix(prefix string) Option {
	return func(p *config) { p.keys.prefix = prefix }
}

// WithKeyScheme selects how the Vary-header values are hashed into page
// keys, to match the Django processes sharing the cache:
// cache.KeySchemeDjango61 (the default: netstrings, an absent header hashed
// as "-,", Django 6.1.3 as inferred by the spec) or cache.KeySchemeLegacy
// (values concatenated, an absent header hashed as "-,": Django 5.2.19,
// 6.0.10 and Debian's 3.2.25).
func WithKeyScheme(s cache.KeyScheme) Option {
	return func(p *config) {
		if !p.djangoSet {
			p.keys.scheme = variantFor(s)
		}
		p.schemeSet = true
	}
}

// WithDjango makes page keys those of the Django release sharing the
// cache (by default, the release of the cache itself: cache.WithDjango or
// django= on its URL), to the patch level (see cache.ParseDjangoRelease: "4.2.28",
// "5.2.19", "6.1.2", "3.2.25-debian"; "X.Y" alone is the newest X.Y
// release): how the Vary-listed header values are hashed, and an absent
// header with them (cache.DjangoRelease.PageKeys). It wins over
// WithKeyScheme and over the cache's release. An invalid release is an
// error of New and NewKeys.
func WithDjango(release string) Option {
	return func(p *config) {
		d, err := cache.ParseDjangoRelease(release)
		if err != nil {
			p.err = fmt.Errorf("pagecache: WithDjango: %w", err)
			return
		}
		p.keys.scheme = d.PageKeys()
		p.schemeSet, p.djangoSet = true, true
	}
}

// WithLanguage adds Django's i18n suffix to page keys: "." + lang(r)
// (request.LANGUAGE_CODE, e.g. "en-us"), and, as Django's USE_I18N does,
// leaves Accept-Language out of the learned Vary headers: the language in
// the key stands for it.
func WithLanguage(lang func(r *http.Request) string) Option {
	return func(p *config) { p.keys.language = lang }
}

// WithTimeZone adds Django's USE_TZ suffix to page keys: "." + tz(r), the
// current time zone's name (e.g. "America/Chicago"), after the language.
func WithTimeZone(tz func(r *http.Request) string) Option {
	return func(p *config) { p.keys.timeZone = tz }
}

// WithSecureProxySSLHeader is Django's SECURE_PROXY_SSL_HEADER: when the
// request has the header, the scheme in page keys is https if the
// header's first comma-separated item equals value, http otherwise. Use
// it only behind a proxy that sets the header.
func WithSecureProxySSLHeader(header, value string) Option {
	return func(p *config) {
		p.keys.proxyHeader = http.CanonicalHeaderKey(header)
		p.keys.proxyValue = value
	}
}

// WithForwardedHost is Django's USE_X_FORWARDED_HOST: the host in page
// keys comes from X-Forwarded-Host when the request has it. Use it only
// behind a proxy that sets the header.
func WithForwardedHost() Option {
	return func(p *config) { p.keys.forwardedHost = true }
}

// WithSeconds sets Django's CACHE_MIDDLEWARE_SECONDS: how long a page is
// kept when neither a page timeout (Page) nor the response's max-age
// says (default httpx.DefaultCacheSeconds, 600). 0 adds the headers
// (max-age=0) but stores nothing; a negative value counts as 0.
func WithSeconds(seconds int) Option {
	return func(p *config) {
		if seconds < 0 {
			seconds = 0
		}
		p.cacheSeconds = seconds
	}
}

// WithMaxBodySize sets the largest body stored (default
// DefaultMaxBodySize). A larger response is sent as it is written, without
// being buffered further, and is not stored. n <= 0 restores the default.
func WithMaxBodySize(n int) Option {
	return func(p *config) {
		if n <= 0 {
			n = DefaultMaxBodySize
		}
		p.maxBody = n
	}
}

// WithAnonymousOnly makes the page cache leave alone every request that
// carries the named cookie (DefaultSessionCookie, "sessionid", when name
// is ""): such requests are neither answered from the cache nor stored,
// whatever their response says.
func WithAnonymousOnly(name string) Option {
	return func(p *config) {
		if name == "" {
			name = DefaultSessionCookie
		}
		p.anonOnly, p.anonCookie = true, name
	}
}

// WithCacheStatus turns the Cache-Status response header (RFC 9211) on or
// off (default on).
func WithCacheStatus(on bool) Option {
	return func(p *config) { p.cacheStatus = on }
}

// WithCoalescing turns request coalescing on or off (default on): while
// a handler runs for a missed page, other requests for the same page with
// the same relevant headers wait for it instead of running the handler
// again.
func WithCoalescing(on bool) Option {
	return func(p *config) { p.coalesce = on }
}

// DefaultSurrogateKeyHeader is the response header a handler declares a
// page's content tags in: Surrogate-Key, as Fastly reads it (tags
// separated by spaces).
const DefaultSurrogateKeyHeader = "Surrogate-Key"

// WithSurrogateKeys names the response header in which a handler declares
// the content tags of its page (default Surrogate-Key: tags separated by
// spaces), and says whether it is kept in the responses sent and stored
// (keep: for a CDN that purges by the same tags) or removed before the
// response leaves (the default). A page's tags are those of its header,
// those its handler declared with cache.DeclareTags(r.Context(), …), and
// those of every {% cache %} fragment it rendered or hit
// ({% cachetag %}); cache.Registry.PurgeTag (tags.Fragments.PurgeTag)
// deletes every page and fragment that declared a tag. A tag that is not
// valid (cache.CheckTag) is logged and left out. An empty header name is
// an error of New.
func WithSurrogateKeys(header string, keep bool) Option {
	return func(p *config) {
		if header == "" {
			p.err = fmt.Errorf("%w: WithSurrogateKeys: an empty header name", cache.ErrInvalidOption)
			return
		}
		p.tagHeader, p.keepTagHeader = http.CanonicalHeaderKey(header), keep
	}
}

// WithCoalescingWait bounds how long a request waits for a concurrent
// request's render of the same page (coalescing): past d, or its own
// deadline, it renders the page itself and does not store it (Cache-Status
// detail=wait-timeout). The default is the cache's operation timeout (that
// of its fail-open wrapper: 500ms on memcached), or no bound for caches
// without one; 0 means no bound; a negative d is an error of New.
func WithCoalescingWait(d time.Duration) Option {
	return func(p *config) {
		if d < 0 {
			p.err = fmt.Errorf("%w: WithCoalescingWait(%v): want 0 or more", cache.ErrInvalidOption, d)
			return
		}
		p.coalesceWait, p.coalesceWaitSet = d, true
	}
}

// WithStampede sets the page cache's protection against stampedes across
// processes (default: the cache's own, cache.Cache.Stampede, which URLs
// set with lease=, lease_ttl=, grace=, xfetch= and xfetch_beta=). See
// "Stampedes across processes" in the package documentation:
//
//   - Lease: on a miss, one request among all the processes sharing the
//     backend renders the page, holding the backend's lease on the page
//     key (on the header-list key while the URL's header list is not
//     known); the others wait for the page to land, polling with a bounded
//     back-off, and are served it (Cache-Status detail=waited). Past the
//     wait bound a request renders its own response, and stores it only
//     if it can then take the lease.
//   - Grace: pages (and their header lists) are kept for their timeout
//     plus Grace; past its timeout a page is served stale to every request
//     (Cache-Status detail=stale) while the lease holder's own request
//     renders and stores it again.
//   - XFetch, XFetchBeta: early probabilistic expiry; a request drawn
//     before the page's timeout renders and stores it again.
//
// s.Wait bounds the wait for another process's render; 0 means the
// coalescing wait when WithCoalescingWait is given, else the lease TTL.
// With a lease, requests of this process waiting for one another
// (coalescing) wait as long unless WithCoalescingWait is given: the
// operation timeout, the default otherwise, is shorter than most renders.
// Negative durations, a negative or non-finite XFetchBeta, and a lease on
// a cache without leases (cache.Cache.Leases) are errors of New wrapping
// cache.ErrInvalidOption.
func WithStampede(s cache.Stampede) Option {
	return func(p *config) {
		if s.LeaseTTL < 0 || s.Wait < 0 || s.Grace < 0 || !(s.XFetchBeta >= 0) || math.IsInf(s.XFetchBeta, 0) {
			p.err = fmt.Errorf("%w: WithStampede(%+v): want durations of 0 or more and XFetchBeta a finite number of 0 or more", cache.ErrInvalidOption, s)
			return
		}
		p.stampede, p.stampedeSet = s, true
	}
}

// WithServerTiming adds a Server-Timing header to every response that was
// looked up (default off): the page lookup and each {% cache %} fragment
// lookup the page's render made, with hit or miss and the time it took
// (page;desc="hit";dur=0.412, frag;desc="sidebar miss";dur=0.210), as
// Django Debug Toolbar's cache panel shows them. The header is added after
// the page is stored and is never stored itself. It tells about the
// site's caching: turn it on where only developers look.
func WithServerTiming(on bool) Option {
	return func(p *config) { p.serverTiming = on }
}

// WithHeaderListMemory sets how many header lists the page cache
// remembers (the list last read or stored for each URL, in this process),
// with which a hit costs one read of the backend instead of two: the
// header list and the page it implies are fetched with one GetMany (see
// "Single-read hits" in the package documentation). n = 0 turns it off: a
// hit reads the header list, then the page. Without this option a Cache
// remembers DefaultHeaderListMemory lists when its backend is not in
// process (cache.IsInProcess: memory://, file:// and dummy:// have no
// round trip to save, and a GetMany costs them allocations); with it, n
// lists on every backend. A negative n is an error of New.
func WithHeaderListMemory(n int) Option {
	return func(p *config) {
		if n < 0 {
			p.err = fmt.Errorf("%w: WithHeaderListMemory(%d): want 0 or more", cache.ErrInvalidOption, n)
			return
		}
		p.lists, p.listsSet = n, true
	}
}

// WithLogger sets the logger for backend errors and configuration
// problems (default: none; errors are still counted in Stats).
func WithLogger(l *slog.Logger) Option {
	return func(p *config) { p.logger = l }
}

// WithClock sets the clock used for Expires, Age and the i18n-free parts
// of the headers (default time.Now). The cache's backend keeps its own
// clock for expiry.
func WithClock(now func() time.Time) Option {
	return func(p *config) {
		if now != nil {
			p.now = now
		}
	}
}

// pageTimeoutOption is Page's page timeout.
func pageTimeoutOption(t cache.Timeout) Option {
	return func(p *config) {
		if t == cache.DefaultTimeout {
			p.pageTimeout = nil
			return
		}
		p.pageTimeout = &t
	}
}
