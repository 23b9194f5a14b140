package tags

import (
	"reflect"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// safeField is the index of pongo2.Value's unexported "safe" flag (set by
// |safe, pongo2.AsSafeValue and the filters that return markup). pongo2 v6
// has no accessor; reflect reads an unexported bool without unsafe.
var safeField = func() int {
	f, ok := reflect.TypeFor[pongo2.Value]().FieldByName("safe")
	if !ok || f.Type.Kind() != reflect.Bool {
		return -1
	}
	return f.Index[0]
}()

// isSafe reports whether v is marked safe (Django's SafeData).
func isSafe(v *pongo2.Value) bool {
	if v == nil || safeField < 0 {
		return false
	}
	return reflect.ValueOf(v).Elem().Field(safeField).Bool()
}

// djangoEscaper is Django's django.utils.html.escape (which writes &#x27;
// for ', where pongo2's escape filter writes &#39;).
var djangoEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")

// escapeHTML is Django's escape().
func escapeHTML(s string) string { return djangoEscaper.Replace(s) }

// renderValue is Django's render_value_in_context: the value as text,
// escaped when autoescape is on unless it is safe (or the expression ends
// in |safe, which pongo2 does not record on the value).
func renderValue(ctx *pongo2.ExecutionContext, v *pongo2.Value, expr pongo2.IEvaluator) string {
	s := v.String()
	if !ctx.Autoescape || isSafe(v) || (expr != nil && expr.FilterApplied("safe")) {
		return s
	}
	return escapeHTML(s)
}
