package browsertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// requireEnv, set to 1, turns a missing Chromium into a failure.
const requireEnv = "FRAGCACHE_REQUIRE_SERVERS"

// chromium returns the path of the Chromium binary, skipping (or failing)
// the test when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("no chromium binary, and %s=1 (apt-get install chromium)", requireEnv)
	}
	t.Skip("no chromium binary (apt-get install chromium)")
	return ""
}

// blog is the blog example running as its own process, with -debug: it
// logs every request, which the test reads.
type blog struct {
	url string
	mu  sync.Mutex
	log []string // request paths, in order
}

// startBlog builds examples/blog from the checkout and starts it on a free
// loopback port.
func startBlog(t *testing.T) *blog {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "blog")
	build := exec.Command("go", "build", "-o", bin, "./examples/blog")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the blog: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-addr", addr, "-debug", "-db-delay", "0s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &blog{url: "http://" + addr}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := regexp.MustCompile(`msg=request method=GET path=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := path.FindStringSubmatch(sc.Text()); m != nil {
				b.mu.Lock()
				b.log = append(b.log, m[1])
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(b.url + "/login")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the blog did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return b
}

// staticRequests returns the /static/ paths the blog served since the
// mark (a length of its log).
func (b *blog) staticRequests(mark int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range b.log[mark:] {
		if strings.HasPrefix(p, "/static/") {
			out = append(out, p)
		}
	}
	return out
}

func (b *blog) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.log)
}

// response is what the browser saw of one response.
type response struct {
	url       string
	status    int64
	fromCache bool
	encoding  string
}

// recorder collects the browser's network events.
type recorder struct {
	mu        sync.Mutex
	responses []response
	pages     []response // every response that is not a static file
	cached    map[network.RequestID]bool
	urls      map[network.RequestID]string
}

func (r *recorder) listen(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.urls[e.RequestID] = e.Request.URL
	case *network.EventRequestServedFromCache:
		r.cached[e.RequestID] = true
	case *network.EventResponseReceived:
		enc, _ := e.Response.Headers["Content-Encoding"].(string)
		if enc == "" {
			enc, _ = e.Response.Headers["content-encoding"].(string)
		}
		resp := response{url: e.Response.URL, status: e.Response.Status,
			fromCache: e.Response.FromDiskCache || e.Response.FromPrefetchCache || r.cached[e.RequestID], encoding: enc}
		r.responses = append(r.responses, resp)
		if !strings.Contains(resp.url, "/static/") {
			r.pages = append(r.pages, resp)
		}
	}
}

// take returns the responses to /static/ URLs recorded so far, and forgets
// them all.
func (r *recorder) take() []response {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []response
	for _, resp := range r.responses {
		if strings.Contains(resp.url, "/static/") {
			out = append(out, resp)
		}
	}
	r.responses = nil
	return out
}

var hashedName = regexp.MustCompile(`/static/[^?#]*\.[0-9a-f]{12}\.[a-z0-9]+$`)

func TestBlogInChromium(t *testing.T) {
	exe := chromium(t)
	b := startBlog(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	rec := &recorder{cached: map[network.RequestID]bool{}, urls: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(rec.listen))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx); err != nil { // starts Chromium; chromedp enables the network domain
		t.Fatalf("starting Chromium: %v", err)
	}
	scripted := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.js === "loaded"`)

	// First visit: every static file answered 200 under its hashed name,
	// and the script ran.
	mark := b.mark()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(".navbar")),
		scripted,
	); err != nil {
		t.Fatal(err)
	}
	first := waitStatic(t, rec, 3)
	t.Logf("first visit: %+v; the blog served %q", first, b.staticRequests(mark))
	kinds := map[string]bool{}
	for _, r := range first {
		if r.status != 200 || !hashedName.MatchString(r.url) {
			t.Errorf("%s: status %d (want 200 under a hashed name)", r.url, r.status)
		}
		kinds[filepath.Ext(r.url)] = true
		// The handler's brotli copies, made at start-up: Chromium asks
		// for br.
		if r.encoding != "br" {
			t.Errorf("%s: Content-Encoding %q, want br", r.url, r.encoding)
		}
	}
	for _, ext := range []string{".css", ".js", ".svg"} {
		if !kinds[ext] {
			t.Errorf("no %s file loaded: %+v", ext, first)
		}
	}
	if served := b.staticRequests(mark); len(served) == 0 {
		t.Errorf("the blog served no static file on the first visit")
	}
	// The page itself came compressed on the wire (httpx.Compress: br for
	// Chromium, which lists it).
	rec.mu.Lock()
	pages := append([]response(nil), rec.pages...)
	rec.mu.Unlock()
	if len(pages) == 0 || pages[0].url != b.url+"/" || pages[0].status != 200 {
		t.Errorf("the first visit's page: %+v", pages)
	} else if enc := pages[0].encoding; enc != "br" && enc != "gzip" {
		t.Errorf("%s came with Content-Encoding %q, want br or gzip", pages[0].url, enc)
	}

	// Second visit (another page with the same files): the browser's
	// cache answers, the blog serves no static file.
	mark = b.mark()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/?page=2"),
		chromedp.WaitVisible(chromedp.CSS(".navbar")),
		scripted,
	); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // late requests would show in the log
	if served := b.staticRequests(mark); len(served) != 0 {
		t.Errorf("the second visit fetched %q again", served)
	}
	second := rec.take()
	t.Logf("second visit: %+v", second)
	for _, r := range second {
		if !r.fromCache {
			t.Errorf("second visit: %s not from the browser's cache", r.url)
		}
	}

	// An edit through the form shows on the article page and on the
	// author's page, which the page cache held.
	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/articles/1")); err != nil {
		t.Fatal(err)
	}
	author, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`p.meta a[href^="/authors/"]`), "href"))
	if err != nil || author.Value == "" {
		t.Fatalf("no author link on /articles/1: %v", err)
	}
	// Put the author page in the page cache (only anonymous requests use
	// it: this client has no login cookie).
	authorBefore := httpGet(t, b.url+author.Value)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/login?user=alice&next=/articles/1/edit"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		scripted,
	); err != nil {
		t.Fatal(err)
	}
	counter, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".counter")))
	if err != nil || !strings.Contains(counter, "characters left") {
		t.Errorf("the edit form's counter says %q (%v)", counter, err)
	}
	title := fmt.Sprintf("Edited in Chromium %d", time.Now().UnixNano())
	if strings.Contains(authorBefore, title) {
		t.Fatal("the author page had the new title before the edit")
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#title"), title),
		chromedp.Submit(chromedp.CSS("#title")),
	); err != nil {
		t.Fatal(err)
	}
	// The form posts, the blog redirects to the article: read the new
	// page's h1 once the navigation is over (evaluations during it fail).
	var h1 string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`location.pathname === "/articles/1" && document.readyState === "complete" ? document.querySelector("h1").textContent : ""`))
		if err == nil && v != "" {
			h1 = v
			break
		}
	}
	if h1 != title {
		t.Errorf("after the edit, the article's h1 is %q, want %q", h1, title)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/logout"),
		chromedp.Navigate(b.url+author.Value),
	); err != nil {
		t.Fatal(err)
	}
	authorText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(authorText, title) {
		t.Errorf("the author page (anonymous, page-cached) does not show the new title %q (%v)", title, err)
	}
	if got := httpGet(t, b.url+author.Value); !strings.Contains(got, title) {
		t.Errorf("the author page, fetched anonymously, does not show the new title")
	}
}

// waitStatic waits until the browser has recorded at least n responses to
// static files, and returns them.
func waitStatic(t *testing.T, rec *recorder, n int) []response {
	t.Helper()
	var got []response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rec.mu.Lock()
		c := 0
		for _, r := range rec.responses {
			if strings.Contains(r.url, "/static/") {
				c++
			}
		}
		rec.mu.Unlock()
		if c >= n {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // the favicon may follow
	got = rec.take()
	if len(got) < n {
		t.Fatalf("%d static responses, want at least %d: %+v", len(got), n, got)
	}
	return got
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}
