package tags

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/flosch/pongo2/v6"
)

// NameOptions configures DjangoNames.
type NameOptions struct {
	// Strict makes a name that matches twice at one step of the lookup
	// (UserID and UserId for user_id) a render error naming the template,
	// line, expression and matches; otherwise such a name resolves to
	// nothing, as a missing one. render.Renderer sets it in debug mode.
	Strict bool
}

// DjangoNames makes the variables of a parsed template resolve Go values
// with Django's names, as the {% cache %} tag's vary-on arguments always do:
// {{ request.user.username }} reads a struct's Username field,
// {{ user.get_full_name }} calls GetFullName(), {{ a.html_url }} reads the
// field tagged json:"html_url" or named HTMLURL. The lookup order is: the
// exact name (a method, then an exported field, as pongo2 reads it), the
// name of a json tag, the snake_case name mapped to a Go field name with Go
// initialisms (id → ID, updated_at → UpdatedAt), then the same mapping to a
// method without arguments. Unexported fields are never read (pongo2 would
// panic on them); maps are read by their exact key only; a value's
// fmt.Stringer still prints it ({{ user }}).
//
// pongo2 v6 has no hook for attribute lookup, so DjangoNames rewrites the
// parsed template: it replaces each plain dotted variable (a.b.0.c, with or
// without filters, in {{ }} and in tags' arguments) by an evaluator that
// resolves it with these rules; variables with a subscript or a call
// (a[b], f(x)) keep pongo2's lookup (their own arguments are rewritten).
// It covers the templates tpl extends and includes statically, but not
// those of {% include some_variable %}, which pongo2 parses on every render.
// Call it once, after parsing and before the first render: it is not safe
// concurrently with renders of tpl. Calling it twice is harmless.
//
// It also gives the template Django's safe handling where pongo2's parsed
// template decides it: string literals become safe values, as Django's
// literals are, and the safe filter is renamed in filter chains, so that
// pongo2's {{ }} no longer writes {{ x|safe|upper }} unescaped for the
// mere presence of |safe (the value's own safeness decides, as in
// Django), and join escapes a separator that is not safe (a variable's)
// under autoescape, as Django's does; see names_safe.go.
//
// render.Renderer calls it for every template it parses. DjangoNames
// relies on the layout of pongo2 v6.0.0's parsed templates (read with
// reflection); it returns an error, and changes nothing, if that layout is
// not the expected one.
func DjangoNames(tpl *pongo2.Template, opts NameOptions) (err error) {
	if tpl == nil {
		return fmt.Errorf("fragcache/tags: DjangoNames of a nil template")
	}
	if err := checkResolverLayout(); err != nil {
		return err
	}
	if err := checkSafeLayout(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fragcache/tags: DjangoNames: unexpected pongo2 template structure: %v", r)
		}
	}()
	rw := &rewriter{strict: opts.Strict, seen: map[visit]bool{}}
	rw.walk(reflect.ValueOf(tpl))
	return nil
}

// pongo2 v6.0.0's variable resolver, as read with reflection:
//
//	type variableResolver struct {
//		locationToken *Token
//		parts         []*variablePart
//	}
//	type variablePart struct {
//		typ            int // varTypeInt 0, varTypeIdent 1, varTypeSubscript 2, varTypeNil 3
//		s              string
//		i              int
//		subscript      IEvaluator
//		isNil          bool
//		isFunctionCall bool
//		callingArgs    []functionCallArgument
//	}
const (
	pongoVarTypeInt   = 0
	pongoVarTypeIdent = 1
)

var (
	typeOfToken    = reflect.TypeOf((*pongo2.Token)(nil))
	typeOfSet      = reflect.TypeOf((*pongo2.TemplateSet)(nil))
	typeOfParser   = reflect.TypeOf((*pongo2.Parser)(nil))
	typeOfReflect  = reflect.TypeOf(reflect.Value{})
	typeOfDjVar    = reflect.TypeOf((*djVar)(nil))
	resolverLayout struct {
		t                                     reflect.Type // *variableResolver
		tok, parts                            int
		typ, s, i, sub, isNil, isCall, callAr int
	}
)

// checkResolverLayout finds pongo2's variableResolver type and its fields
// (once); it fails if they are not those of pongo2 v6.0.0.
var checkResolverLayout = sync.OnceValue(func() error {
	set := pongo2.NewSet("fragcache/names-probe", noLoader{})
	tpl, err := set.FromString("{{ a.b }}")
	if err != nil {
		return fmt.Errorf("fragcache/tags: probing pongo2: %w", err)
	}
	var found reflect.Type
	probe := &rewriter{seen: map[visit]bool{}, probe: func(t reflect.Type) {
		if found == nil && t.Kind() == reflect.Pointer && t.Elem().Name() == "variableResolver" &&
			t.Elem().PkgPath() == "github.com/flosch/pongo2/v6" {
			found = t
		}
	}}
	probe.walk(reflect.ValueOf(tpl))
	if found == nil {
		return fmt.Errorf("fragcache/tags: pongo2's variableResolver not found: DjangoNames supports pongo2 v6.0.0")
	}
	l := &resolverLayout
	l.t = found
	field := func(t reflect.Type, name string, kind reflect.Kind) (int, error) {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != kind || len(f.Index) != 1 {
			return 0, fmt.Errorf("fragcache/tags: pongo2's %s.%s is not a %s: DjangoNames supports pongo2 v6.0.0", t.Name(), name, kind)
		}
		return f.Index[0], nil
	}
	rt := found.Elem()
	var errs [9]error
	l.tok, errs[0] = field(rt, "locationToken", reflect.Pointer)
	l.parts, errs[1] = field(rt, "parts", reflect.Slice)
	if errs[1] != nil {
		return errs[1]
	}
	pt := rt.Field(l.parts).Type.Elem()
	if pt.Kind() != reflect.Pointer {
		return fmt.Errorf("fragcache/tags: pongo2's variableResolver.parts is not a slice of pointers: DjangoNames supports pongo2 v6.0.0")
	}
	pt = pt.Elem()
	l.typ, errs[2] = field(pt, "typ", reflect.Int)
	l.s, errs[3] = field(pt, "s", reflect.String)
	l.i, errs[4] = field(pt, "i", reflect.Int)
	l.sub, errs[5] = field(pt, "subscript", reflect.Interface)
	l.isNil, errs[6] = field(pt, "isNil", reflect.Bool)
	l.isCall, errs[7] = field(pt, "isFunctionCall", reflect.Bool)
	l.callAr, errs[8] = field(pt, "callingArgs", reflect.Slice)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
})

// noLoader is the loader of the probe set, which parses from a string.
type noLoader struct{}

func (noLoader) Abs(_, name string) string { return name }
func (noLoader) Get(name string) (io.Reader, error) {
	return nil, fmt.Errorf("fragcache/tags: no template %q", name)
}

type visit struct {
	p uintptr
	t reflect.Type
}

// rewriter walks a parsed template and replaces plain variable resolvers.
type rewriter struct {
	strict bool
	seen   map[visit]bool
	probe  func(reflect.Type) // probing mode: report interface contents, change nothing
	// capture, in probing mode, also receives each interface value (tests).
	capture func(reflect.Value)
}

// writable returns an addressable value that may be set, even when it was
// reached through unexported fields.
func writable(v reflect.Value) reflect.Value {
	if v.CanSet() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// firstVisit reports whether the walk of a parsed template goes into the
// pointer v: not nil, not a value outside the parsed tree (a token, the
// template set, a parser, a pongo2 value, a rewritten variable), and not
// visited before, which it records in seen.
func firstVisit(seen map[visit]bool, v reflect.Value) bool {
	if v.IsNil() {
		return false
	}
	t := v.Type()
	if t == typeOfToken || t == typeOfSet || t == typeOfParser || t == typeOfValuePtr || t == typeOfDjVar {
		return false
	}
	k := visit{v.Pointer(), t}
	if seen[k] {
		return false
	}
	seen[k] = true
	return true
}

func (rw *rewriter) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !firstVisit(rw.seen, v) {
			return
		}
		rw.walk(v.Elem())
	case reflect.Struct:
		if v.Type() == typeOfReflect {
			return
		}
		if rw.probe == nil {
			fixFilterCall(v)
		}
		for i := 0; i < v.NumField(); i++ {
			rw.walk(writable(v.Field(i)))
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return
		}
		for i := 0; i < v.Len(); i++ {
			rw.walk(writable(v.Index(i)))
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.String {
			return
		}
		type repl struct{ k, v reflect.Value }
		var rs []repl
		iter := v.MapRange()
		for iter.Next() {
			e := iter.Value()
			switch e.Kind() {
			case reflect.Interface:
				if r := rw.replacement(e, v.Type().Elem()); r.IsValid() {
					rs = append(rs, repl{iter.Key(), r})
				} else if !e.IsNil() && e.Elem().Kind() == reflect.Pointer {
					rw.walk(e.Elem())
				}
			case reflect.Pointer:
				rw.walk(e)
			}
		}
		if rw.probe == nil {
			for _, r := range rs {
				v.SetMapIndex(r.k, r.v)
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if r := rw.replacement(v, v.Type()); r.IsValid() {
			if rw.probe == nil && v.CanSet() {
				v.Set(r)
			}
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Pointer {
			rw.walk(e)
		}
	}
}

// replacement returns the djVar for an interface value holding a plain
// pongo2 variable resolver, if it can take the place of one in a value of
// type it; otherwise the invalid Value. It rewrites the resolver's own
// arguments first.
func (rw *rewriter) replacement(v reflect.Value, it reflect.Type) reflect.Value {
	e := v.Elem()
	if rw.probe != nil {
		rw.probe(e.Type())
		if rw.capture != nil {
			rw.capture(v)
		}
		return reflect.Value{}
	}
	if r := literalReplacement(e, it); r.IsValid() {
		return r
	}
	if e.Type() != resolverLayout.t || e.IsNil() {
		return reflect.Value{}
	}
	rw.walk(e) // subscripts and call arguments
	if !typeOfDjVar.Implements(it) {
		return reflect.Value{}
	}
	d := djVarOf(e, rw.strict)
	if d == nil {
		return reflect.Value{}
	}
	return reflect.ValueOf(d)
}

// djVarOf returns the djVar for a pongo2 variable resolver, or nil if the
// variable is not a plain dotted path.
func djVarOf(vr reflect.Value, strict bool) *djVar {
	l := &resolverLayout
	r := vr.Elem()
	parts := r.Field(l.parts)
	if parts.Len() == 0 {
		return nil
	}
	names := make([]string, parts.Len())
	for i := range names {
		p := parts.Index(i).Elem()
		if p.Field(l.isCall).Bool() || p.Field(l.isNil).Bool() || !p.Field(l.sub).IsNil() || p.Field(l.callAr).Len() > 0 {
			return nil
		}
		switch p.Field(l.typ).Int() {
		case pongoVarTypeIdent:
			names[i] = p.Field(l.s).String()
		case pongoVarTypeInt:
			if i == 0 {
				return nil
			}
			names[i] = strconv.Itoa(int(p.Field(l.i).Int()))
		default:
			return nil
		}
	}
	tokF := writable(r.Field(l.tok))
	tok, _ := tokF.Interface().(*pongo2.Token)
	return &djVar{path: newVarPath(names, strings.Join(names, "."), tok), strict: strict}
}

// djVar is a plain dotted variable resolved with Django names; it replaces
// pongo2's variable resolver in a template rewritten by DjangoNames.
type djVar struct {
	path   *varPath
	strict bool
}

// Evaluate implements pongo2.IEvaluator.
func (d *djVar) Evaluate(ec *pongo2.ExecutionContext) (*pongo2.Value, *pongo2.Error) {
	res, err := d.path.resolve(ec, d.strict)
	if err != nil {
		return newValue(reflect.Value{}, false), ec.Error(err.Error(), d.path.tok)
	}
	return newValue(res.v, res.safe), nil
}

// Execute implements pongo2.INode: it writes the value, as pongo2's
// variable resolver does.
func (d *djVar) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	v, err := d.Evaluate(ec)
	if err != nil {
		return err
	}
	if _, werr := w.WriteString(v.String()); werr != nil {
		return ec.OrigError(werr, d.path.tok)
	}
	return nil
}

// GetPositionToken implements pongo2.IEvaluator.
func (d *djVar) GetPositionToken() *pongo2.Token { return d.path.tok }

// FilterApplied implements pongo2.IEvaluator: a variable has no filters.
func (d *djVar) FilterApplied(string) bool { return false }

// String returns the variable as written.
func (d *djVar) String() string { return d.path.text }
