package tags

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/flosch/pongo2/v6"
)

// Two differences between pongo2 and Django in safe handling cannot be
// fixed by filters, and DjangoNames fixes them in the templates it
// rewrites:
//
//   - Django marks a string literal safe ({{ "<b>" }}, default:"<i>x</i>",
//     {% with x="<b>" %}); pongo2's is escaped like a variable. The
//     rewrite replaces each literal by an evaluator of a safe value.
//   - pongo2 writes {{ x|safe|upper }} unescaped because |safe appears in
//     the expression, where Django escapes the result of upper (not an
//     is_safe filter). The safe filter marks its value safe (filterSafe),
//     so the rewrite renames it in filter chains, where pongo2 looks for
//     it by name: the value's own safeness decides, as in Django.
//
// With literals safe, join can tell a literal separator (safe) from a
// variable's (unsafe, escaped under autoescape as Django escapes it): the
// rewrite makes each join call Django's join (filterJoinDjango), whatever
// filter the pongo2 registry holds under that name.

// safeRenamed is the name the rewrite gives the safe filter in a chain.
const safeRenamed = "safe (fragcache)"

// pongo2 v6.0.0's string literal and filter call, as read with reflection:
//
//	type stringResolver struct {
//		locationToken *Token
//		val           string
//	}
//	type filterCall struct {
//		token      *Token
//		name       string
//		parameter  IEvaluator
//		filterFunc FilterFunction
//	}
type safeLayoutT struct {
	lit           reflect.Type // *stringResolver
	litTok, litV  int
	call          reflect.Type // filterCall
	callName      int
	callFunc      int
	typeOfLiteral reflect.Type
}

var safeLayout safeLayoutT

// checkSafeLayout finds pongo2's stringResolver and filterCall types
// (once); it fails if they are not those of pongo2 v6.0.0.
var checkSafeLayout = sync.OnceValue(func() error {
	l := &safeLayout
	l.typeOfLiteral = reflect.TypeOf((*djLiteral)(nil))
	find := func(src, name string) (reflect.Type, error) {
		set := pongo2.NewSet("fragcache/safe-probe", noLoader{})
		tpl, err := set.FromString(src)
		if err != nil {
			return nil, fmt.Errorf("fragcache/tags: probing pongo2: %w", err)
		}
		var found reflect.Type
		probe := &rewriter{seen: map[visit]bool{}, probe: func(t reflect.Type) {
			if found == nil && t.Kind() == reflect.Pointer && t.Elem().Name() == name &&
				t.Elem().PkgPath() == "github.com/flosch/pongo2/v6" {
				found = t
			}
		}}
		probe.walk(reflect.ValueOf(tpl))
		if found == nil {
			return nil, fmt.Errorf("fragcache/tags: pongo2's %s not found: DjangoNames supports pongo2 v6.0.0", name)
		}
		return found, nil
	}
	field := func(t reflect.Type, name string, kind reflect.Kind) (int, error) {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != kind || len(f.Index) != 1 {
			return 0, fmt.Errorf("fragcache/tags: pongo2's %s.%s is not a %s: DjangoNames supports pongo2 v6.0.0", t.Name(), name, kind)
		}
		return f.Index[0], nil
	}
	lit, err := find(`{{ "x" }}`, "stringResolver")
	if err != nil {
		return err
	}
	if l.litTok, err = field(lit.Elem(), "locationToken", reflect.Pointer); err != nil {
		return err
	}
	if l.litV, err = field(lit.Elem(), "val", reflect.String); err != nil {
		return err
	}
	fv, err := find(`{{ x|safe }}`, "nodeFilteredVariable")
	if err != nil {
		return err
	}
	chain, ok := fv.Elem().FieldByName("filterChain")
	if !ok || chain.Type.Kind() != reflect.Slice || chain.Type.Elem().Kind() != reflect.Pointer ||
		chain.Type.Elem().Elem().Kind() != reflect.Struct {
		return fmt.Errorf("fragcache/tags: pongo2's nodeFilteredVariable.filterChain is not a slice of pointers: DjangoNames supports pongo2 v6.0.0")
	}
	call := chain.Type.Elem().Elem()
	if l.callName, err = field(call, "name", reflect.String); err != nil {
		return err
	}
	if l.callFunc, err = field(call, "filterFunc", reflect.Func); err != nil {
		return err
	}
	if call.Field(l.callFunc).Type != reflect.TypeOf(pongo2.FilterFunction(nil)) {
		return fmt.Errorf("fragcache/tags: pongo2's filterCall.filterFunc is not a FilterFunction: DjangoNames supports pongo2 v6.0.0")
	}
	l.lit, l.call = lit, call
	return nil
})

// literalReplacement returns the djLiteral for an interface value holding
// a pongo2 string literal, if it can take the place of one in a value of
// type it; otherwise the invalid Value.
func literalReplacement(e reflect.Value, it reflect.Type) reflect.Value {
	l := &safeLayout
	if l.lit == nil || e.Type() != l.lit || e.IsNil() || !l.typeOfLiteral.Implements(it) {
		return reflect.Value{}
	}
	r := e.Elem()
	tok, _ := writable(r.Field(l.litTok)).Interface().(*pongo2.Token)
	s := r.Field(l.litV).String()
	return reflect.ValueOf(&djLiteral{v: pongo2.AsSafeValue(s), s: s, tok: tok})
}

// fixFilterCall renames the safe filter in a pongo2 filter call (v, a
// filterCall struct), so that pongo2 no longer finds it by name, and makes
// a join call Django's join, which escapes an unsafe separator (string
// literals being safe here, only a variable's separator is).
func fixFilterCall(v reflect.Value) {
	l := &safeLayout
	if l.call == nil || v.Type() != l.call {
		return
	}
	name := writable(v.Field(l.callName))
	switch name.String() {
	case "safe":
		if name.CanSet() {
			name.SetString(safeRenamed)
		}
	case "join":
		if fn := writable(v.Field(l.callFunc)); fn.CanSet() {
			fn.Set(reflect.ValueOf(pongo2.FilterFunction(filterJoinDjango)))
		}
	}
}

// djLiteral is a string literal of a template rewritten by DjangoNames:
// a safe value, as Django's literals are.
type djLiteral struct {
	v   *pongo2.Value // shared: pongo2 values are not modified once made
	s   string
	tok *pongo2.Token
}

// Evaluate implements pongo2.IEvaluator.
func (d *djLiteral) Evaluate(*pongo2.ExecutionContext) (*pongo2.Value, *pongo2.Error) {
	return d.v, nil
}

// Execute implements pongo2.INode: it writes the text.
func (d *djLiteral) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	if _, err := w.WriteString(d.s); err != nil {
		return ec.OrigError(err, d.tok)
	}
	return nil
}

// GetPositionToken implements pongo2.IEvaluator.
func (d *djLiteral) GetPositionToken() *pongo2.Token { return d.tok }

// FilterApplied implements pongo2.IEvaluator: a literal has no filters.
func (d *djLiteral) FilterApplied(string) bool { return false }
