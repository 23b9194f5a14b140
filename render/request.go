package render

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/tags"
)

// requestKey is the name under which templates see the request.
const requestKey = "request"

// renderState is the per-render value the Renderer puts in the render
// context under tags.RequestContextKey. It is the request's
// context.Context (the {% cache %} tag passes it to cache calls) and also
// holds the request and the lazily computed values behind request.GET,
// request.COOKIES, request.META, request.headers and request.user. It is
// the only per-render allocation the Renderer adds, and its fields are
// unexported, so templates cannot reach them.
type renderState struct {
	budget   cache.Budget
	prefetch tags.Prefetch
	context.Context
	r    *http.Request
	user func(*http.Request) any
	anon map[string]any

	userOnce, getOnce, cookiesOnce, metaOnce, headersOnce sync.Once

	userVal                    any
	get, cookies, meta, header map[string]string
}

// newRenderState returns the state of one render of r (which may be nil).
func (rd *Renderer) newRenderState(r *http.Request) *renderState {
	s := &renderState{Context: context.Background(), r: r, user: rd.user, anon: rd.anon}
	if r != nil {
		s.Context = r.Context()
	}
	// One cache budget per render: once a fail-open cache has failed this
	// render, its other {% cache %} lookups skip that cache rather than
	// each wait an operation timeout (see cache.Budget).
	s.Context = cache.WithBudget(s.Context, &s.budget)
	return s
}

// FragmentPrefetch implements tags.PrefetchSource: the {% cache %} tags
// find the render's prefetched fragments here.
func (s *renderState) FragmentPrefetch() *tags.Prefetch { return &s.prefetch }

// stateOf returns the render state visible from an execution context, or
// nil (outside a Renderer render, or inside {% include … only %}).
func stateOf(ec *pongo2.ExecutionContext) *renderState {
	if ec == nil {
		return nil
	}
	s, _ := ec.Public[tags.RequestContextKey].(*renderState)
	if s == nil || s.r == nil {
		return nil
	}
	return s
}

// newAnonymousUser returns the value of request.user when no user is known:
// Django's AnonymousUser as templates see it.
func newAnonymousUser() map[string]any {
	return map[string]any{
		"id":               nil,
		"pk":               nil,
		"username":         "",
		"is_authenticated": false,
		"is_anonymous":     true,
		"is_active":        false,
		"is_staff":         false,
		"is_superuser":     false,
	}
}

// newRequestValue returns the value of "request" in the Renderer's Globals.
// It is built once per Renderer and never changes: every member is a
// function of the *pongo2.ExecutionContext, which pongo2 passes implicitly
// and calls when a template reads the member, so a render costs nothing
// for the members it does not use. The functions find the request through
// the render state in the context.
func newRequestValue(anon map[string]any) map[string]any {
	str := func(f func(r *http.Request) string) func(*pongo2.ExecutionContext) string {
		return func(ec *pongo2.ExecutionContext) string {
			if s := stateOf(ec); s != nil {
				return f(s.r)
			}
			return ""
		}
	}
	dict := func(f func(s *renderState) map[string]string) func(*pongo2.ExecutionContext) map[string]string {
		return func(ec *pongo2.ExecutionContext) map[string]string {
			if s := stateOf(ec); s != nil {
				return f(s)
			}
			return nil
		}
	}
	return map[string]any{
		"path":      str(func(r *http.Request) string { return r.URL.Path }),
		"path_info": str(func(r *http.Request) string { return r.URL.Path }),
		"method":    str(func(r *http.Request) string { return r.Method }),
		"scheme":    str(scheme),
		"get_host":  str(func(r *http.Request) string { return r.Host }),
		"get_full_path": str(func(r *http.Request) string {
			if r.URL.RawQuery == "" {
				return r.URL.EscapedPath()
			}
			return r.URL.EscapedPath() + "?" + r.URL.RawQuery
		}),
		"is_secure": func(ec *pongo2.ExecutionContext) bool {
			s := stateOf(ec)
			return s != nil && s.r.TLS != nil
		},
		"GET":     dict((*renderState).queryDict),
		"COOKIES": dict((*renderState).cookieDict),
		"META":    dict((*renderState).metaDict),
		"headers": dict((*renderState).headerDict),
		"user": func(ec *pongo2.ExecutionContext) any {
			if s := stateOf(ec); s != nil {
				return s.userValue()
			}
			return anon
		},
	}
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// userValue returns request.user: Options.User's value, computed once per
// render, or the anonymous user when there is no hook or it returns nil.
func (s *renderState) userValue() any {
	s.userOnce.Do(func() {
		if s.user != nil {
			s.userVal = s.user(s.r)
		}
		if s.userVal == nil {
			s.userVal = s.anon
		}
	})
	return s.userVal
}

// queryDict returns request.GET: each query parameter's last value, as
// Django's QueryDict gives it to templates ({{ request.GET.page }}).
func (s *renderState) queryDict() map[string]string {
	s.getOnce.Do(func() {
		q := s.r.URL.Query()
		s.get = make(map[string]string, len(q))
		for k, v := range q {
			s.get[k] = v[len(v)-1]
		}
	})
	return s.get
}

// cookieDict returns request.COOKIES: name → value (the last of several
// cookies with one name wins, as in Django's parse_cookie).
func (s *renderState) cookieDict() map[string]string {
	s.cookiesOnce.Do(func() {
		cs := s.r.Cookies()
		s.cookies = make(map[string]string, len(cs))
		for _, c := range cs {
			s.cookies[c.Name] = c.Value
		}
	})
	return s.cookies
}

// metaDict returns a minimal request.META: the CGI variables a WSGI server
// sets (REQUEST_METHOD, PATH_INFO, QUERY_STRING, SERVER_PROTOCOL,
// REMOTE_ADDR, REMOTE_HOST, SERVER_NAME, SERVER_PORT, CONTENT_TYPE,
// CONTENT_LENGTH) and every header as HTTP_<NAME> (HTTP_HOST, HTTP_USER_AGENT,
// …). Repeated headers are joined with ",", as WSGI servers do.
func (s *renderState) metaDict() map[string]string {
	s.metaOnce.Do(func() {
		r := s.r
		m := make(map[string]string, len(r.Header)+10)
		for k, v := range r.Header {
			name := strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
			if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" {
				m[name] = strings.Join(v, ",")
				continue
			}
			m["HTTP_"+name] = strings.Join(v, ",")
		}
		if r.Host != "" {
			m["HTTP_HOST"] = r.Host
			host, port, err := net.SplitHostPort(r.Host)
			if err != nil {
				host, port = r.Host, "80"
				if r.TLS != nil {
					port = "443"
				}
			}
			m["SERVER_NAME"], m["SERVER_PORT"] = host, port
		}
		if r.ContentLength > 0 {
			m["CONTENT_LENGTH"] = strconv.FormatInt(r.ContentLength, 10)
		}
		m["REQUEST_METHOD"] = r.Method
		m["PATH_INFO"] = r.URL.Path
		m["QUERY_STRING"] = r.URL.RawQuery
		m["SERVER_PROTOCOL"] = r.Proto
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			m["REMOTE_ADDR"] = host
		} else {
			m["REMOTE_ADDR"] = r.RemoteAddr
		}
		m["REMOTE_HOST"] = m["REMOTE_ADDR"]
		s.meta = m
	})
	return s.meta
}

// headerDict returns request.headers with the keys Django's HttpHeaders
// accepts in templates: lower case with underscores ({{
// request.headers.user_agent }}, {{ request.headers.accept_language }}).
func (s *renderState) headerDict() map[string]string {
	s.headersOnce.Do(func() {
		h := make(map[string]string, len(s.r.Header)+1)
		for k, v := range s.r.Header {
			h[strings.ToLower(strings.ReplaceAll(k, "-", "_"))] = strings.Join(v, ",")
		}
		if s.r.Host != "" {
			h["host"] = s.r.Host
		}
		s.header = h
	})
	return s.header
}
