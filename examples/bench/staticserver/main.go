// Command staticserver serves a folder with the staticfiles handler, for
// examples/bench/static.sh: the files under /static/, hashed names
// immutable, as an application would mount them.
//
//	go run ./examples/bench/staticserver -addr 127.0.0.1:8002 -dir DIR
//
// It prints the URL of each file (staticfiles.Storage.URL) on standard
// output, one "name url" line each, then serves until killed.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/fragcache/fragcache/staticfiles"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8002", "address to listen on")
	dir := flag.String("dir", ".", "folder of static files")
	flag.Parse()
	fsys := os.DirFS(*dir)
	st, err := staticfiles.New(fsys, staticfiles.Options{URL: "/static/"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "staticserver:", err)
		os.Exit(1)
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if u, err := st.URL(p); err == nil {
			fmt.Println(p, u)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "staticserver:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", st.Handler())
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "staticserver:", err)
		os.Exit(1)
	}
}
