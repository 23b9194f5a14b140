package tags

import "github.com/flosch/pongo2/v6"

// pongo2 v6's {% cycle %}, {% ifchanged %} and {% include %} keep
// per-render state on the parsed template or re-parse at render time (see
// "pongo2 v6 traps" in the package documentation): importing this package
// replaces them, process-wide, with versions that keep that state per
// render and follow Django, and adds Django's {% resetcycle %}. These are
// bug fixes; the templates they accept keep their meaning, except that
// {% cycle name %} must name a cycle defined earlier with "as name" (as in
// Django) and values are escaped as Django escapes them.
func init() {
	replaceTag("cycle", parseCycleTag)
	replaceTag("resetcycle", parseResetCycleTag)
	replaceTag("ifchanged", parseIfchangedTag)
	replaceTag("include", parseIncludeTag)

	// {% load i18n %} (tags_i18n.go); pongo2 has none of these tags.
	for _, name := range []string{"trans", "translate"} {
		replaceTag(name, parseTransTag)
	}
	for _, name := range []string{"blocktrans", "blocktranslate"} {
		replaceTag(name, parseBlockTransTag)
	}
	replaceTag("get_current_language", parseAsTag(LanguageCode))
	replaceTag("get_current_language_bidi", parseAsTag(false))
	replaceTag("language", parseLanguageTag)

	// Filters whose output differed from Django's only in escaping or
	// markup, or that panicked (filters_text.go).
	replaceFilter("escape", filterEscape)
	replaceFilter("safe", filterSafe)
	replaceFilter("linebreaks", filterLinebreaks)
	replaceFilter("linebreaksbr", filterLinebreaksbr)
	replaceFilter("linenumbers", filterLinenumbers)
	replaceFilter("join", filterJoin)
	replaceFilter("wordwrap", isSafeFilter(filterWordwrapWords))

	// Django's is_safe filters, which pongo2 returned unsafe, so that a
	// safe input was escaped again (filters_safe.go).
	for name, fn := range safeFilters {
		replaceFilter(name, fn)
	}
}

// nilValue is a nil pongo2 value, shared (pongo2 values are not modified
// once made).
var nilValue = pongo2.AsValue(nil)

// replaceFilter registers or replaces a filter. pongo2 never passes a nil
// input or parameter, but pongo2.ApplyFilter's callers may: the filters
// see a nil value instead.
func replaceFilter(name string, fn pongo2.FilterFunction) {
	wrapped := func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		// pongo2's autoescaping calls escape with a nil parameter on every
		// {{ }}: the shared nil value costs no allocation.
		if in == nil {
			in = nilValue
		}
		if param == nil {
			param = nilValue
		}
		return fn(in, param)
	}
	if pongo2.RegisterFilter(name, wrapped) != nil {
		_ = pongo2.ReplaceFilter(name, wrapped)
	}
}

// replaceTag registers or replaces a tag. Tags are registered in init,
// before any template can be parsed.
func replaceTag(name string, fn pongo2.TagParser) {
	if pongo2.RegisterTag(name, fn) != nil {
		_ = pongo2.ReplaceTag(name, fn)
	}
}
