// Package browsertest drives the blog example (examples/blog) with headless
// Chromium, through chromedp: the pages load with every static file
// answered 200 under its hashed name, a second visit fetches none of them
// again (the browser's cache keeps them, immutable), and an edit made
// through the edit form shows on the article and author pages.
//
// It is a module of its own so that the library's go.mod does not carry
// chromedp. Run it from this folder:
//
//	go test ./...
//
// It builds the blog from the checkout around it and needs Debian's chromium
// package (apt-get install chromium); without it the test is skipped, or
// fails when FRAGCACHE_REQUIRE_SERVERS=1 (as in CI).
package browsertest
