// Package staticfiles serves static files under content-hashed names with
// far-future caching, as Django's ManifestStaticFilesStorage names them:
// css/site.css is served as css/site.<first 12 hex digits of the MD5 of its
// content>.css with Cache-Control "public, max-age=31536000, immutable",
// so that a deploy that changes a file changes its URL and browsers never
// ask for it again until then.
//
//	st, err := staticfiles.New(staticFS, staticfiles.Options{URL: "/static/"})
//	…
//	mux.Handle("GET /static/", st.Handler())
//	url, err := st.URL("css/site.css") // "/static/css/site.ea7a8eb767ef.css"
//
// Templates get the URLs from {% static "css/site.css" %} (package tags:
// set tags.Options.Static to the Storage).
//
// # Django's names, computed at start-up
//
// New reads every file of an fs.FS (an embed.FS, os.DirFS, …) once and
// computes what Django 6.1's collectstatic with ManifestStaticFilesStorage
// writes, byte for byte (the tests compare them with real Django): the
// hashed names; the CSS files with their url(…) and @import references
// rewritten to the hashed names of their targets (relative paths resolved,
// queries and fragments kept, data: URIs, absolute and protocol-relative
// URLs, references in comments and strings left alone, @import "x.css"
// written @import url("x.css"), CSS that references other CSS hashed after
// its targets, in Django's passes), and the sourceMappingURL comments of
// CSS and JavaScript files; and staticfiles.json (Manifest). No build step
// is needed. Django's quirks are kept, so that the bytes stay Django's: a
// reference is written url("…") whatever its quotes, percent-escapes in it
// are decoded, and a reference with a query to a CSS file that itself
// references others (url(other.css?v=1)) gets the hash of that file's
// original content, a name no file has (as in Django). File names with %, ?
// or #, which Django's storage mangles, are refused. Files and directories
// whose names start with "." or end with
// "~", and CVS directories, are left out, as collectstatic leaves them out.
//
// A reference to a missing file fails New with ErrMissingReference, naming
// the CSS file, the line and the reference, as collectstatic fails;
// Options.KeepMissingReferences leaves such references as they are and logs
// them. Files that reference each other in a cycle fail with ErrMaxPasses.
//
// A site that runs collectstatic (or keeps the output of a previous run)
// sets Options.Manifest to "staticfiles.json": the names are then read
// from it (versions "1.0" and "1.1"), and nothing is hashed.
//
// URL is Django's static(): a name missing from the manifest is
// ErrMissing (Django's manifest_strict).
//
// # Serving
//
// Handler serves GET and HEAD with a strong ETag, Last-Modified, 304s,
// Range requests, the Content-Type of the extension and nosniff; unhashed
// names with a short max-age (Options.MaxAge). Compressible files (text,
// CSS, JavaScript, JSON, SVG, …) get gzip (klauspost/compress) and brotli
// (andybalholm/brotli) copies at New, kept when smaller, or use the
// site.css.gz and site.css.br files found beside them; Accept-Encoding
// chooses (br when q(br) > 0 and q(br) >= q(gzip), else gzip when
// q(gzip) > 0, else identity; "*" is not asking: httpx.Compress's rule),
// with Vary: Accept-Encoding. Only the files
// New found are served: anything else, hidden files, "..", encoded or not,
// NUL bytes, is 404. Files up to 256 KiB (64 MiB in all), the rewritten
// CSS and the compressed copies are held in memory and sent with one
// write; larger files are streamed from the file system.
package staticfiles
