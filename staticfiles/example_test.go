package staticfiles_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/fragcache/fragcache/staticfiles"
)

func Example() {
	files := fstest.MapFS{ // an embed.FS in a real program
		"css/site.css": {Data: []byte(`body { background: url("../img/logo.svg"); }` + "\n")},
		"img/logo.svg": {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>` + "\n")},
	}
	st, err := staticfiles.New(files, staticfiles.Options{URL: "/static/"})
	if err != nil {
		panic(err)
	}
	url, err := st.URL("css/site.css")
	if err != nil {
		panic(err)
	}
	fmt.Println(url)

	mux := http.NewServeMux()
	mux.Handle("GET /static/", st.Handler())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
	fmt.Println(w.Code, w.Header().Get("Cache-Control"))
	fmt.Print(w.Body.String())

	_, err = st.URL("css/missing.css")
	fmt.Println(err)
	// Output:
	// /static/css/site.ea7a8eb767ef.css
	// 200 public, max-age=31536000, immutable
	// body { background: url("../img/logo.2c37c2ba6d07.svg"); }
	// staticfiles: missing staticfiles manifest entry for 'css/missing.css'
}
