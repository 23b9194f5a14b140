// Package render renders Django-syntax templates (pongo2 v6) from an fs.FS
// to net/http responses, with the {% cache %} fragment tag bound to a
// cache.Registry.
//
//	rd, err := render.New(render.Options{FS: templatesFS, Registry: reg})
//	…
//	func page(w http.ResponseWriter, r *http.Request) {
//		rd.Render(w, r, "articles/list.html", pongo2.Context{"articles": list})
//	}
//
// # Template names
//
// Names are slash-separated paths from the root of the FS, as in Django:
// {% include "partials/nav.html" %} means the same file in every template.
// A name starting with "./" or "../" is relative to the template that
// includes or extends it. A name that leaves the root ("/etc/passwd",
// "../x.html" in a root template) is refused as "not found".
//
// # Parsing and reloading
//
// Each template is parsed once, on first use (or by Preload), and kept by
// the Renderer; renders of a parsed template take no lock. With
// Options.Debug, every render re-reads the files the template came from
// and re-parses it when one changed.
//
// # Rendering
//
// A render writes into a buffer; Render then sets Content-Type and
// Content-Length and writes the response once. An unknown template, a
// parse error, or an error or panic during rendering is logged with the
// template name and line and becomes a 500 with nothing of the page in it.
//
// On memcached and Redis, a render reads its {% cache %} fragments ahead:
// the first tag fetches, with one multi-get per cache, those of the
// render's top-level context and of its loops over plain lists, and the
// first tag of each other loop those of the loop's items (see
// tags.PlanPrefetch; Options.NoPrefetch turns it off).
//
// # The request in templates
//
// Templates see the request as "request", with Django's names:
//
//	request.path, request.path_info   the URL path (decoded)
//	request.method                    "GET", "POST", …
//	request.GET.page                  the last value of query parameter page
//	request.COOKIES.sessionid         a cookie's value
//	request.META.HTTP_HOST            CGI-style variables and HTTP_* headers
//	request.META.REMOTE_ADDR
//	request.headers.user_agent        a header, Django's HttpHeaders names
//	request.get_full_path             path and query string
//	request.get_host, request.scheme, request.is_secure
//	request.user                      Options.User's value (a map or a Go
//	                                  struct, read with Django names), or an
//	                                  anonymous user (username "",
//	                                  is_authenticated false)
//
// Each member is computed only when a template reads it, at most once per
// render, so {% cache 500 sidebar request.user.username %} calls the
// User hook once. Django templates cannot pass arguments to methods, so
// request.GET.get("x") is not supported: write request.GET.x.
//
// The render context also holds, under tags.RequestContextKey, a value
// that is the request's context.Context; the {% cache %} tag uses it for
// its cache calls, so the request's deadline or cancellation bounds them.
// Like every per-render value, it is not visible inside
// {% include … with x=y only %}, where request reads as empty and the tag
// uses context.Background().
//
// # Go values with Django names
//
// Every template the Renderer parses goes through tags.DjangoNames, so
// templates read Go values with the names Django templates use, in {{ }}
// as in tags: on a struct, request.user.username reads Username (or the
// field tagged json:"username"), user.id reads ID, user.html_url reads
// HTMLURL, user.get_full_name calls GetFullName(); {{ user }} prints what
// its String method says. Options.User may therefore return the
// application's own user struct (or a pointer to it), and data may hold
// structs, slices of structs and maps. A {% cache %} vary-on argument that
// does not resolve (request.user.usernme) is counted in
// Fragments().UnresolvedVaryOn() and logged once per template position;
// in debug mode it is a render error naming the template, line and
// expression, and so is a Django name that matches two Go fields or
// methods. See the tags package for the rules.
//
// Fragment names pongo2 cannot lex, such as {% cache 300 sidébar %} or
// {% cache 300 侧边栏 %}, work as in Django: the loader passes every
// template through tags.PrepareSource.
//
// # Django's tags and filters
//
// {% include some_variable %} takes the template from the Renderer's cache
// (parsed once, with the Renderer's parse lock). {% cycle %},
// {% resetcycle %} and {% ifchanged %} keep their state per render, as in
// Django (package tags replaces pongo2's stateful versions). The first New
// calls tags.UseDjangoBuiltins, which installs Django's filters (date and
// time formats, truncation, humanize, …) and its now and widthratio tags
// in pongo2's process-wide registries: create the first Renderer before
// other pongo2 templates in the process are parsed or rendered. See the
// tags package documentation.
package render
