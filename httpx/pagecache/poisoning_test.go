package pagecache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
)

// The poisoning battery: no client ever gets a page made for another one,
// whatever the headers, and nothing private is stored.

// personal is a handler whose page shows who asked: the Cookie and
// Authorization headers, and a counter.
type personal struct {
	mu    sync.Mutex
	calls int
	// decorate adds headers before the body is written.
	decorate func(w http.ResponseWriter, r *http.Request)
}

func (p *personal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.mu.Unlock()
	if p.decorate != nil {
		p.decorate(w, r)
	}
	fmt.Fprintf(w, "page %d for cookie=%q auth=%q x=%q", n, r.Header.Get("Cookie"), r.Header.Get("Authorization"), r.Header.Get("X-A"))
}

func (p *personal) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// sees reports whether a page body was made for the given cookie and
// authorization.
func sees(body, cookie, auth string) bool {
	return strings.Contains(body, fmt.Sprintf("cookie=%q auth=%q", cookie, auth))
}

func TestPoisoningCookieVary(t *testing.T) {
	// Two users with different cookies, a page that varies on Cookie: each
	// sees their own page, both from the cache on the second visit, and the
	// entries are distinct.
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts()...)(httpx.VaryOnCookie(view))
	users := []string{"sessionid=alice", "sessionid=bob", ""}
	for round := 0; round < 2; round++ {
		for _, cookie := range users {
			r := get("/account")
			if cookie != "" {
				r.Header.Set("Cookie", cookie)
			}
			rr := serveReq(h, r)
			if !sees(rr.Body.String(), cookie, "") {
				t.Fatalf("round %d: cookie %q got %q", round, cookie, rr.Body.String())
			}
			if hit := rr.Header().Get("Cache-Status") == statusHit; hit != (round == 1) {
				t.Errorf("round %d cookie %q: Cache-Status %q", round, cookie, rr.Header().Get("Cache-Status"))
			}
		}
	}
	if view.count() != 3 {
		t.Errorf("handler ran %d times", view.count())
	}
	if n := len(tc.stores[cache.DefaultAlias].Keys()); n != 4 { // header list + 3 pages
		t.Errorf("%d keys stored", n)
	}
}

func TestPoisoningAuthorization(t *testing.T) {
	// Different Authorization headers never share a page: the page cache
	// adds Vary: Authorization unless the page is public.
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts()...)(view)
	for round := 0; round < 2; round++ {
		for _, auth := range []string{"Bearer alice", "Bearer bob", "Basic Ym9iOmJvYg=="} {
			r := get("/me")
			r.Header.Set("Authorization", auth)
			rr := serveReq(h, r)
			if !sees(rr.Body.String(), "", auth) {
				t.Fatalf("auth %q got %q", auth, rr.Body.String())
			}
			if rr.Header().Get("Vary") != "Authorization" {
				t.Errorf("Vary %q", rr.Header().Get("Vary"))
			}
		}
	}
	// Without Authorization, the page is another entry.
	if rr := serveReq(h, get("/me")); !sees(rr.Body.String(), "", "") {
		t.Errorf("anonymous got %q", rr.Body.String())
	}
	// An explicitly public page is shared (Django's rule, CVE-2026-35193).
	view2 := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public")
	}}
	h2 := Site(tc.opts()...)(view2)
	for _, auth := range []string{"Bearer alice", "Bearer bob"} {
		r := get("/public")
		r.Header.Set("Authorization", auth)
		serveReq(h2, r)
	}
	if view2.count() != 1 {
		t.Errorf("public page rendered %d times", view2.count())
	}
}

func TestPoisoningSetCookieNeverReplayed(t *testing.T) {
	// A response that sets a cookie is never stored, with or without Vary:
	// Cookie, so Set-Cookie never reaches another client.
	for _, vary := range []string{"", "Cookie", "Accept-Encoding"} {
		t.Run("vary="+vary, func(t *testing.T) {
			tc := newTestCaches(t)
			n := 0
			h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				if vary != "" {
					w.Header().Set("Vary", vary)
				}
				if n == 1 {
					http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "secret-of-client-1", Path: "/"})
				}
				fmt.Fprintf(w, "page %d", n)
			}))
			rr := serveReq(h, get("/p"))
			if !strings.Contains(rr.Header().Get("Set-Cookie"), "secret-of-client-1") {
				t.Fatal("first client lost its cookie")
			}
			if rr.Header().Get("Cache-Control") != "" || rr.Header().Get("Expires") != "" {
				t.Errorf("a response setting a cookie got cache headers: %v", rr.Header())
			}
			for i := 0; i < 3; i++ {
				rr := serveReq(h, get("/p"))
				if sc := rr.Header().Values("Set-Cookie"); len(sc) != 0 {
					t.Fatalf("request %d got Set-Cookie %q", i+2, sc)
				}
			}
			if n != 2 {
				t.Errorf("handler ran %d times, want 2 (second response stored)", n)
			}
		})
	}
}

func TestPoisoningNeverStored(t *testing.T) {
	// private / no-cache / no-store (any case, with values, on several
	// lines) and Vary: * are never stored, and the response is untouched.
	for _, hdr := range []http.Header{
		{"Cache-Control": {"private"}},
		{"Cache-Control": {"Private"}},
		{"Cache-Control": {"PRIVATE, max-age=60"}},
		{"Cache-Control": {`private="Set-Cookie"`}},
		{"Cache-Control": {"max-age=60", "no-store"}},
		{"Cache-Control": {"No-Store"}},
		{"Cache-Control": {"no-cache"}},
		{"Cache-Control": {`no-cache="Set-Cookie"`}},
		{"Cache-Control": {" no-cache , public"}},
		{"Vary": {"*"}},
		{"Vary": {" * "}},
		{"Vary": {"Cookie, *"}},
		{"Vary": {"Cookie", "*"}},
		{"Cache-Control": {"max-age=0"}},
		{"Cache-Control": {"public, max-age=abc"}},
	} {
		t.Run(fmt.Sprint(hdr), func(t *testing.T) {
			tc := newTestCaches(t)
			view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
				for k, v := range hdr {
					w.Header()[k] = v
				}
			}}
			h := Site(tc.opts()...)(view)
			r := get("/x")
			r.Header.Set("Cookie", "sessionid=alice")
			rr := serveReq(h, r)
			serveReq(h, get("/x"))
			if view.count() != 2 || len(tc.stores[cache.DefaultAlias].Keys()) != 0 {
				t.Errorf("stored: %d calls, keys %v", view.count(), tc.stores[cache.DefaultAlias].Keys())
			}
			if _, ok := rr.Header()["Expires"]; ok {
				t.Errorf("headers patched: %v", rr.Header())
			}
			if got := rr.Header()["Cache-Control"]; strings.Join(got, "|") != strings.Join(hdr["Cache-Control"], "|") {
				t.Errorf("Cache-Control changed: %q", got)
			}
		})
	}
}

func TestPoisoningAbsentVersusEmpty(t *testing.T) {
	// A Vary-listed header that is absent and one that is empty get
	// different keys (6.1.3 and legacy schemes); Django 6.1.0–6.1.2 merged
	// them.
	for _, tt := range []struct {
		opt      Option
		separate bool
	}{
		{WithKeyScheme(cache.KeySchemeDjango61), true},
		{WithKeyScheme(cache.KeySchemeLegacy), true},
		{WithDjango("6.1.1"), false},
	} {
		tc := newTestCaches(t)
		view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "X-A")
		}}
		h := Site(tc.opts(tt.opt)...)(view)
		serveReq(h, get("/v")) // absent
		r := get("/v")
		r.Header["X-A"] = []string{""}
		rr := serveReq(h, r)
		if separate := view.count() == 2; separate != tt.separate {
			t.Errorf("scheme %v: separate entries = %v, want %v (%s)", newConfig([]Option{tt.opt}).keys.scheme,
				separate, tt.separate, rr.Body.String())
		}
	}
}

func TestPoisoningConcatenatedValues(t *testing.T) {
	// X-A: x, X-B: yz and X-A: xy, X-B: z hash differently with netstrings
	// (the default); the legacy scheme concatenates them into one key, as
	// Django ≤ 6.0 does.
	for _, tt := range []struct {
		opt      Option
		separate bool
	}{
		{WithKeyScheme(cache.KeySchemeDjango61), true},
		{WithKeyScheme(cache.KeySchemeLegacy), false},
	} {
		tc := newTestCaches(t)
		n := 0
		h := Site(tc.opts(tt.opt)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header().Set("Vary", "X-A, X-B")
			fmt.Fprint(w, r.Header.Get("X-A"), "|", r.Header.Get("X-B"))
		}))
		for _, v := range [][2]string{{"x", "yz"}, {"xy", "z"}} {
			r := get("/v")
			r.Header.Set("X-A", v[0])
			r.Header.Set("X-B", v[1])
			serveReq(h, r)
		}
		if (n == 2) != tt.separate {
			t.Errorf("separate = %v, want %v", n == 2, tt.separate)
		}
	}
}

func TestPoisoningURLConfusion(t *testing.T) {
	// Django's key decodes %2F and resolves dot segments, merging URLs that
	// Go's ServeMux routes to different handlers; raw non-ASCII query bytes
	// are read as ISO-8859-1 for the key but as UTF-8 by url.ParseQuery.
	// Such requests are left alone, so they cannot fill another URL's entry.
	tc := newTestCaches(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/a/b", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "real /a/b") })
	mux.HandleFunc("/{name}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "attacker: ", r.PathValue("name")) })
	mux.HandleFunc("/q", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "q=%q", r.URL.Query().Get("q")) })
	h := Site(tc.opts()...)(mux)
	for _, target := range []string{"/a%2Fb", "/a%2fb", "/x/../a/b", "/q?q=caf\xc3\xa9"} {
		rr := serveReq(h, get(target))
		if rr.Header().Get("Cache-Status") != "fragcache; fwd=bypass; detail=url" {
			t.Errorf("%q: Cache-Status %q", target, rr.Header().Get("Cache-Status"))
		}
	}
	if rr := serveReq(h, get("/a/b")); rr.Body.String() != "real /a/b" {
		t.Errorf("/a/b got %q", rr.Body.String())
	}
	if rr := serveReq(h, get("/q?q=caf%C3%A9")); rr.Body.String() != `q="café"` {
		t.Errorf("/q got %q", rr.Body.String())
	}
}

func TestPoisoningCoalescing(t *testing.T) {
	// Concurrent misses of one page. Round 1, Vary headers not yet learned:
	// only requests with identical headers wait for each other (alice with
	// two different User-Agents runs the handler twice). Round 2, Vary:
	// Cookie learned: requests with the same cookie share one run whatever
	// their other headers. Nobody ever gets another cookie's page.
	tc := newTestCaches(t)
	var release chan struct{}
	var mu sync.Mutex
	calls := map[string]int{}
	view := httpx.VaryOnCookie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Header.Get("Cookie")]++
		ch := release
		mu.Unlock()
		<-ch
		fmt.Fprintf(w, "page for %s", r.Header.Get("Cookie"))
	}))
	var joined sync.WaitGroup
	p, err := New(tc.opts(func(c *config) { c.onJoin = joined.Done })...)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(view)
	const perClient = 3
	clients := []struct{ cookie, ua string }{
		{"sessionid=alice", "ua1"}, {"sessionid=alice", "ua2"}, {"sessionid=bob", "ua1"},
	}
	round := func(followers int) {
		mu.Lock()
		release = make(chan struct{})
		clear(calls)
		mu.Unlock()
		joined.Add(followers)
		var wg sync.WaitGroup
		results := make(chan [2]string, len(clients)*perClient)
		for _, c := range clients {
			for i := 0; i < perClient; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := get("/coalesce")
					r.Header.Set("Cookie", c.cookie)
					r.Header.Set("User-Agent", c.ua)
					rr := serveReq(h, r)
					results <- [2]string{c.cookie, rr.Body.String()}
				}()
			}
		}
		joined.Wait() // every follower waits for its leader
		close(release)
		wg.Wait()
		close(results)
		for res := range results {
			if res[1] != "page for "+res[0] {
				t.Errorf("%s got %q", res[0], res[1])
			}
		}
	}

	round(len(clients) * (perClient - 1))
	if calls["sessionid=alice"] != 2 || calls["sessionid=bob"] != 1 {
		t.Errorf("round 1 handler runs: %v", calls)
	}
	if st := p.Stats(); st.Coalesced != 6 || st.Stored != 3 {
		t.Errorf("round 1 stats %+v", st)
	}

	// Delete the pages, keep the learned header list.
	for _, c := range []string{"sessionid=alice", "sessionid=bob"} {
		if ok, err := p.Invalidate(context.Background(), "http://testserver/coalesce", http.Header{"Cookie": {c}}); !ok || err != nil {
			t.Fatalf("invalidate %s: %v %v", c, ok, err)
		}
	}
	round(2*perClient - 1 + perClient - 1)
	if calls["sessionid=alice"] != 1 || calls["sessionid=bob"] != 1 {
		t.Errorf("round 2 handler runs: %v", calls)
	}
	if st := p.Stats(); st.Coalesced != 6+7 || st.Stored != 5 {
		t.Errorf("round 2 stats %+v", st)
	}
}

func TestPoisoningCoalescingUnstored(t *testing.T) {
	// Followers of a leader whose response is not stored (private) run the
	// handler themselves: a private page is never handed to another request.
	tc := newTestCaches(t)
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		me := n
		mu.Unlock()
		if me == 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "private")
		fmt.Fprintf(w, "private page %d", me)
	})
	var joined sync.WaitGroup
	p, _ := New(tc.opts(func(c *config) { c.onJoin = joined.Done })...)
	h := p.Handler(view)
	joined.Add(3)
	bodies := make(chan string, 4)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies <- serveReq(h, get("/private")).Body.String()
		}()
	}
	joined.Wait()
	close(release)
	wg.Wait()
	close(bodies)
	seen := map[string]bool{}
	for b := range bodies {
		if seen[b] {
			t.Errorf("page %q served twice", b)
		}
		seen[b] = true
	}
	if n != 4 {
		t.Errorf("handler ran %d times", n)
	}
}

func TestPoisoningAnonymousOnly(t *testing.T) {
	// WithAnonymousOnly: a request carrying the session cookie is neither
	// served from nor stored in the cache, even if the page forgets Vary.
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts(WithAnonymousOnly(""))...)(view)
	serveReq(h, get("/home")) // anonymous: stored
	r := get("/home")
	r.Header.Set("Cookie", "theme=dark; sessionid=alice")
	rr := serveReq(h, r)
	if !sees(rr.Body.String(), "theme=dark; sessionid=alice", "") || rr.Header().Get("Cache-Status") != "fragcache; fwd=bypass; detail=session" {
		t.Errorf("session request got %q (%s)", rr.Body.String(), rr.Header().Get("Cache-Status"))
	}
	r = get("/home")
	r.Header.Set("Cookie", "theme=dark")
	if rr := serveReq(h, r); !sees(rr.Body.String(), "", "") {
		t.Errorf("anonymous request not served from the cache: %q", rr.Body.String())
	}
	for _, c := range []struct {
		cookie string
		has    bool
	}{
		{"sessionid=x", true}, {"a=1;sessionid=", true}, {"a=1; sessionid", true}, {" sessionid =x", true},
		{"xsessionid=1", false}, {"sessionidx=1", false}, {"a=sessionid", false}, {"", false},
	} {
		if got := hasCookie(http.Header{"Cookie": {c.cookie}}, "sessionid"); got != c.has {
			t.Errorf("hasCookie(%q) = %v", c.cookie, got)
		}
	}
}

func TestPoisoningHEADCannotFillGET(t *testing.T) {
	// A HEAD miss stores a HEAD entry that GET never reads.
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts()...)(view)
	serveReq(h, newReq(http.MethodHead, "/h"))
	rr := serveReq(h, get("/h"))
	if rr.Header().Get("Cache-Status") == statusHit || view.count() != 2 {
		t.Errorf("GET served from a HEAD entry")
	}
}

// TestPoisoningRealClients runs the battery's core through a real server
// with Go's client and, when installed, curl.
func TestPoisoningRealClients(t *testing.T) {
	tc := newTestCaches(t)
	view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cookie" {
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "minted-" + r.Header.Get("X-A"), Path: "/"})
		}
	}}
	srv := httptest.NewServer(Site(tc.opts()...)(httpx.VaryOnCookie(view)))
	defer srv.Close()
	client := srv.Client()
	fetch := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp, body(t, resp.Body)
	}
	for round := 0; round < 2; round++ {
		for _, u := range []string{"sessionid=alice", "sessionid=bob"} {
			resp, b := fetch("/page", map[string]string{"Cookie": u})
			if !sees(b, u, "") {
				t.Errorf("Go client %s got %q", u, b)
			}
			if round == 1 && resp.Header.Get("Cache-Status") != statusHit {
				t.Errorf("round 2 not a hit: %q", resp.Header.Get("Cache-Status"))
			}
			if resp.ContentLength != int64(len(b)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(b))
			}
		}
	}
	fetch("/cookie", map[string]string{"X-A": "one"})
	resp, _ := fetch("/cookie", map[string]string{"X-A": "two"})
	if got := resp.Header.Get("Set-Cookie"); got != "sessionid=minted-two; Path=/" {
		t.Errorf("second client got Set-Cookie %q", got)
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl not installed: skipped the curl part")
		return
	}
	for _, u := range []string{"sessionid=alice", "sessionid=bob", "sessionid=carol"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, curl, "-s", "-i", "-H", "Cookie: "+u, srv.URL+"/page").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("curl: %v %s", err, out)
		}
		if !sees(string(out), u, "") {
			t.Errorf("curl %s got %s", u, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-s", "-i", "-H", "X-A: three", srv.URL+"/cookie").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "minted-three") || strings.Contains(string(out), "minted-one") {
		t.Errorf("curl got another client's cookie: %s", out)
	}
}

func TestPoisoningNonCanonicalHeaders(t *testing.T) {
	// Headers set under non-canonical keys (which net/http sends as they
	// are) are seen by the checks.
	for _, hdr := range []http.Header{
		{"set-cookie": {"sessionid=secret"}},
		{"SET-COOKIE": {"sessionid=secret"}},
		{"cache-control": {"private"}},
		{"vary": {"*"}},
	} {
		tc := newTestCaches(t)
		view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
			for k, v := range hdr {
				w.Header()[k] = v
			}
		}}
		h := Site(tc.opts()...)(view)
		serveReq(h, get("/n"))
		rr := serveReq(h, get("/n"))
		if view.count() != 2 || len(tc.stores[cache.DefaultAlias].Keys()) != 0 {
			t.Errorf("%v: stored (%d calls)", hdr, view.count())
		}
		for k := range hdr {
			if len(rr.Header().Values(k)) == 0 {
				t.Errorf("%v: header lost", hdr)
			}
		}
	}
}
