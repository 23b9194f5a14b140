package tags

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/flosch/pongo2/v6"
)

// Django names for Go values.
//
// A Django template reads request.user.username; a Go struct has Username.
// A dotted name is resolved one name at a time; on a struct (or a pointer
// to one) the first of these that exists wins:
//
//  1. the exact name: an exported method (called without arguments, as
//     pongo2 does), then an exported field;
//  2. the name of a field's json tag (`json:"username"`);
//  3. the snake_case name as a Go field name, with Go's initialisms:
//     updated_at → UpdatedAt, id → ID (or Id), html_url → HTMLURL (or
//     HtmlUrl);
//  4. the same mapping to a method without arguments (Django calls
//     zero-argument callables): get_full_name → GetFullName().
//
// Two matches at one step (UserID and UserId for user_id, two fields tagged
// json:"name" at one depth) are ambiguous: an error in strict mode,
// otherwise the name does not resolve. Unexported fields are never read.
// Maps are looked up by their exact key only. The resolution of a
// (type, name) pair is computed once and cached.

// memberKind says how a name resolves on a type.
type memberKind uint8

const (
	memberAbsent memberKind = iota
	memberField
	memberMethod
	memberAmbiguous
)

// member is the cached resolution of a name on a type.
type member struct {
	kind memberKind
	// field: the index path from the struct type (after a pointer).
	index []int
	// method: its index in the method set of ptrType (the pointer to the
	// struct or the value's own type).
	method int
	// onPtr: the method is looked up on a pointer to the value (pointer
	// receivers), which needs an addressable value or a copy.
	onPtr bool
	// deref: the value is a pointer and the field is on its element.
	deref bool
	// ambiguous: the matches, for the error message.
	ambiguous string
}

type memberKey struct {
	t    reflect.Type
	name string
}

// members caches member resolutions: memberKey → *member.
var members sync.Map

var (
	typeOfValuePtr   = reflect.TypeOf((*pongo2.Value)(nil))
	typeOfExecCtxPtr = reflect.TypeOf((*pongo2.ExecutionContext)(nil))
	typeOfError      = reflect.TypeOf((*error)(nil)).Elem()
	typeOfMapAny     = reflect.TypeOf(map[string]any(nil))
	typeOfContext    = reflect.TypeOf(pongo2.Context(nil))
	typeOfMapString  = reflect.TypeOf(map[string]string(nil))
)

// lookupMember returns the resolution of name on t (cached).
func lookupMember(t reflect.Type, name string) *member {
	k := memberKey{t, name}
	if m, ok := members.Load(k); ok {
		return m.(*member)
	}
	m, _ := members.LoadOrStore(k, resolveMember(t, name))
	return m.(*member)
}

// resolveMember computes how name resolves on a value of type t; see the
// comment at the top of this file.
func resolveMember(t reflect.Type, name string) *member {
	st, deref := t, false
	if t.Kind() == reflect.Pointer {
		st, deref = t.Elem(), true
	}
	// 1. The exact name: a method (value or pointer receiver), then a field.
	if m := methodMember(t, st, []string{name}, true); m != nil {
		return m
	}
	if st.Kind() != reflect.Struct {
		return &member{}
	}
	if f, ok := st.FieldByName(name); ok && f.IsExported() {
		return &member{kind: memberField, index: f.Index, deref: deref}
	}
	// 2. A json tag.
	var found []reflect.StructField
	depth := -1
	for _, f := range reflect.VisibleFields(st) {
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("json")
		if !ok {
			continue
		}
		if i := strings.IndexByte(tag, ','); i >= 0 {
			tag = tag[:i]
		}
		if tag != name || tag == "-" {
			continue
		}
		switch d := len(f.Index); {
		case depth < 0 || d < depth:
			found, depth = append(found[:0], f), d
		case d == depth:
			found = append(found, f)
		}
	}
	if m := fieldsMember(found, deref); m != nil {
		return m
	}
	// 3. snake_case to a Go field name.
	names := goNames(name)
	if len(names) == 0 {
		return &member{}
	}
	found = found[:0]
	for _, n := range names {
		if f, ok := st.FieldByName(n); ok && f.IsExported() {
			found = append(found, f)
		}
	}
	if m := fieldsMember(found, deref); m != nil {
		return m
	}
	// 4. snake_case to a method without arguments.
	if m := methodMember(t, st, names, false); m != nil {
		return m
	}
	return &member{}
}

// fieldsMember returns the member for the fields matched at one step: nil
// for none, a field for one, ambiguous for more.
func fieldsMember(found []reflect.StructField, deref bool) *member {
	switch len(found) {
	case 0:
		return nil
	case 1:
		return &member{kind: memberField, index: found[0].Index, deref: deref}
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.Name
	}
	return &member{kind: memberAmbiguous, ambiguous: "fields " + strings.Join(names, " and ")}
}

// methodMember looks the names up as methods of t (or of *st when t is not
// a pointer: pointer receivers count). exact accepts any method, as pongo2
// calls it (and reports a wrong signature); otherwise only methods callable
// without arguments match.
func methodMember(t, st reflect.Type, names []string, exact bool) *member {
	var found []*member
	var foundNames []string
	for _, n := range names {
		var m *member
		if meth, ok := t.MethodByName(n); ok {
			m = &member{kind: memberMethod, method: meth.Index}
		} else if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
			if meth, ok := reflect.PointerTo(t).MethodByName(n); ok {
				m = &member{kind: memberMethod, method: meth.Index, onPtr: true}
			}
		}
		if m == nil {
			continue
		}
		if !exact {
			mt := t
			if m.onPtr {
				mt = reflect.PointerTo(t)
			}
			if !callable(mt.Method(m.method).Type, true) {
				continue
			}
		}
		found = append(found, m)
		foundNames = append(foundNames, n)
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return found[0]
	}
	return &member{kind: memberAmbiguous, ambiguous: "methods " + strings.Join(foundNames, " and ")}
}

// callable reports whether a function type can be called by a template:
// no arguments (or only the implicit *pongo2.ExecutionContext), one result
// or a result and an error. method says the type includes a receiver.
func callable(ft reflect.Type, method bool) bool {
	in := ft.NumIn()
	first := 0
	if method {
		first = 1
	}
	switch in - first {
	case 0:
	case 1:
		if ft.In(first) != typeOfExecCtxPtr {
			return false
		}
	default:
		return false
	}
	switch ft.NumOut() {
	case 1:
		return true
	case 2:
		return ft.Out(1) == typeOfError
	}
	return false
}

// initialisms are the Go initialisms (golint's list, plus PK and DB) that a
// snake_case word maps to in capitals: id → ID, url → URL.
var initialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DB": true, "DNS": true, "EOF": true,
	"GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true, "IP": true, "JSON": true, "LHS": true,
	"PK": true, "QPS": true, "RAM": true, "RHS": true, "RPC": true, "SLA": true, "SMTP": true, "SQL": true,
	"SSH": true, "TCP": true, "TLS": true, "TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true,
	"URI": true, "URL": true, "UTF8": true, "VM": true, "XML": true, "XMPP": true, "XSRF": true, "XSS": true,
}

// goNames returns the Go names a snake_case name may stand for: with
// initialisms in capitals (html_url → HTMLURL), and, when that differs,
// with every word capitalized (HtmlUrl). A name that is not snake_case
// (lower-case ASCII words and digits joined by single underscores) has
// none.
func goNames(name string) []string {
	if name == "" {
		return nil
	}
	words := strings.Split(name, "_")
	var a, b strings.Builder
	for _, w := range words {
		if w == "" {
			return nil
		}
		for i := 0; i < len(w); i++ {
			if c := w[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return nil
			}
		}
		up := strings.ToUpper(w)
		title := up[:1] + w[1:]
		if initialisms[up] {
			a.WriteString(up)
		} else {
			a.WriteString(title)
		}
		b.WriteString(title)
	}
	if a.String() == b.String() {
		return []string{a.String()}
	}
	return []string{a.String(), b.String()}
}

// A varPath is a compiled dotted variable (request.user.username,
// items.0.title) resolved with Django names.
type varPath struct {
	parts []pathPart
	text  string
	tok   *pongo2.Token
}

type pathPart struct {
	name  string
	isInt bool
	i     int
	key   reflect.Value // reflect.ValueOf(name), for maps with string keys
	// last is a one-entry cache of the last type this part was resolved
	// on (most paths see one type), in front of the members map.
	last atomic.Pointer[lastMember]
}

type lastMember struct {
	t reflect.Type
	m *member
}

// newVarPath returns the path of the given names; a name that is a
// non-negative decimal integer is an index.
func newVarPath(names []string, text string, tok *pongo2.Token) *varPath {
	p := &varPath{parts: make([]pathPart, len(names)), text: text, tok: tok}
	for i, n := range names {
		pp := &p.parts[i]
		pp.name, pp.key = n, reflect.ValueOf(n)
		if i > 0 {
			if v, err := strconv.Atoi(n); err == nil && v >= 0 && n[0] != '+' {
				pp.isInt, pp.i = true, v
			}
		}
	}
	return p
}

// unresolvedError says which name of a path is absent.
type unresolvedError struct {
	path   string
	name   string
	holder string // the type or "the context"
	ambig  string // non-empty: ambiguous matches
}

func (e *unresolvedError) Error() string {
	if e.ambig != "" {
		return fmt.Sprintf("%q in %q is ambiguous: %s", e.name, e.path, e.reason())
	}
	return fmt.Sprintf("%q in %q does not resolve: %s", e.name, e.path, e.reason())
}

// reason says why the name does not resolve.
func (e *unresolvedError) reason() string {
	if e.ambig != "" {
		return fmt.Sprintf("%s of %s match %q", e.ambig, e.holder, e.name)
	}
	return fmt.Sprintf("%s has no key, field or method %q", e.holder, e.name)
}

// errAmbiguous marks an ambiguity in strict mode.
var errAmbiguous = errors.New("ambiguous name")

// resolution is the result of resolving a path.
type resolution struct {
	v    reflect.Value // invalid: nil (or absent)
	safe bool
	// absent is set when a name of the path does not exist (not for a
	// present nil value or a nil pointer on the way).
	absent *unresolvedError
	// none is set when the whole path resolved to nil (Python's None): a
	// nil value or a nil pointer, not a nil met on the way.
	none bool
}

// resolve resolves p in ec. strict makes an ambiguous name an error
// (otherwise it is absent). Errors are those of called methods and
// functions, and ambiguity in strict mode.
func (p *varPath) resolve(ec *pongo2.ExecutionContext, strict bool) (res resolution, err error) {
	first := p.parts[0].name
	v, ok := ec.Private[first]
	if !ok {
		v, ok = ec.Public[first]
	}
	if !ok {
		res.absent = &unresolvedError{path: p.text, name: first, holder: "the context"}
		return res, nil
	}
	cur := reflect.ValueOf(v)
	if cur, res.safe, err = settle(ec, cur, res.safe); err != nil {
		return res, err
	}
	for i := 1; i < len(p.parts); i++ {
		if !cur.IsValid() {
			return res, nil // a nil on the way: nil, not absent
		}
		pp := &p.parts[i]
		next, m, found, err := pp.step(ec, cur)
		if err != nil {
			return res, err
		}
		if !found {
			ue := &unresolvedError{path: p.text, name: pp.name, holder: typeName(cur.Type())}
			if m != nil && m.kind == memberAmbiguous {
				ue.ambig = m.ambiguous
				if strict {
					return res, fmt.Errorf("%w: %w", errAmbiguous, ue)
				}
			}
			res.absent = ue
			return res, nil
		}
		if cur, res.safe, err = settle(ec, next, res.safe); err != nil {
			return res, err
		}
	}
	res.v = cur
	res.none = !cur.IsValid() || cur.Kind() == reflect.Pointer && cur.IsNil()
	return res, nil
}

func typeName(t reflect.Type) string {
	if t == typeOfMapAny || t == typeOfContext || t == typeOfMapString {
		return "the map"
	}
	return t.String()
}

// step resolves one part on cur. found is false when the name is absent;
// a nil pointer on the way gives an invalid value, found.
func (pp *pathPart) step(ec *pongo2.ExecutionContext, cur reflect.Value) (next reflect.Value, m *member, found bool, err error) {
	t := cur.Type()
	// Fast paths for the maps templates see most.
	switch t {
	case typeOfMapAny, typeOfContext:
		var mv any
		var ok bool
		if t == typeOfMapAny {
			mv, ok = cur.Interface().(map[string]any)[pp.name]
		} else {
			mv, ok = cur.Interface().(pongo2.Context)[pp.name]
		}
		if !ok {
			return reflect.Value{}, nil, false, nil
		}
		return reflect.ValueOf(mv), nil, true, nil
	case typeOfMapString:
		s, ok := cur.Interface().(map[string]string)[pp.name]
		if !ok {
			return reflect.Value{}, nil, false, nil
		}
		return reflect.ValueOf(s), nil, true, nil
	}
	if t.Kind() == reflect.Pointer && cur.IsNil() {
		// A nil pointer is Python's None: nothing on it resolves, and it
		// is not absent (no method is called on a nil receiver).
		return reflect.Value{}, nil, true, nil
	}
	if pp.isInt {
		return pp.index(cur)
	}
	if t.Kind() == reflect.Map {
		if t.NumMethod() > 0 {
			if mm := pp.member(t); mm.kind == memberMethod {
				v, err := callMethod(ec, cur, mm)
				return v, mm, err == nil, err
			}
		}
		return mapIndex(cur, pp.key)
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Map {
		if mm := pp.member(t); mm.kind == memberMethod {
			v, err := callMethod(ec, cur, mm)
			return v, mm, err == nil, err
		}
		if cur.IsNil() {
			return reflect.Value{}, nil, true, nil
		}
		return mapIndex(cur.Elem(), pp.key)
	}
	mm := pp.member(t)
	switch mm.kind {
	case memberField:
		base := cur
		if mm.deref {
			if base.IsNil() {
				return reflect.Value{}, mm, true, nil
			}
			base = base.Elem()
		}
		f, err := base.FieldByIndexErr(mm.index)
		if err != nil { // a nil embedded pointer: nil
			return reflect.Value{}, mm, true, nil
		}
		if !f.CanInterface() {
			return reflect.Value{}, mm, false, nil
		}
		return f, mm, true, nil
	case memberMethod:
		v, err := callMethod(ec, cur, mm)
		return v, mm, err == nil, err
	}
	return reflect.Value{}, mm, false, nil
}

// member returns the resolution of the part's name on t.
func (pp *pathPart) member(t reflect.Type) *member {
	if l := pp.last.Load(); l != nil && l.t == t {
		return l.m
	}
	m := lookupMember(t, pp.name)
	pp.last.Store(&lastMember{t, m})
	return m
}

// index resolves a numeric part: a slice, array or string index (pongo2's
// rule), or the decimal key of a map with string keys.
func (pp *pathPart) index(cur reflect.Value) (reflect.Value, *member, bool, error) {
	if cur.Kind() == reflect.Pointer {
		if cur.IsNil() {
			return reflect.Value{}, nil, true, nil
		}
		cur = cur.Elem()
	}
	switch cur.Kind() {
	case reflect.Slice, reflect.Array, reflect.String:
		if pp.i < cur.Len() {
			return cur.Index(pp.i), nil, true, nil
		}
	case reflect.Map:
		return mapIndex(cur, pp.key)
	}
	return reflect.Value{}, nil, false, nil
}

// mapIndex looks a string key up in a map whose keys are strings (of any
// string type) or interfaces.
func mapIndex(m reflect.Value, key reflect.Value) (reflect.Value, *member, bool, error) {
	kt := m.Type().Key()
	switch {
	case kt.Kind() == reflect.String:
		if kt != key.Type() {
			key = key.Convert(kt)
		}
	case kt.Kind() == reflect.Interface && key.Type().Implements(kt):
	default:
		return reflect.Value{}, nil, false, nil
	}
	v := m.MapIndex(key)
	return v, nil, v.IsValid(), nil
}

// callMethod calls the method m of cur.
func callMethod(ec *pongo2.ExecutionContext, cur reflect.Value, m *member) (reflect.Value, error) {
	recv := cur
	if m.onPtr {
		if cur.CanAddr() {
			recv = cur.Addr()
		} else {
			p := reflect.New(cur.Type())
			p.Elem().Set(cur)
			recv = p
		}
	}
	return call(ec, recv.Method(m.method))
}

// call calls a function value as pongo2 does for a variable that holds
// one: without arguments, or with the implicit *pongo2.ExecutionContext.
func call(ec *pongo2.ExecutionContext, fn reflect.Value) (reflect.Value, error) {
	ft := fn.Type()
	if !callable(ft, false) {
		return reflect.Value{}, fmt.Errorf("%s cannot be called from a template (it needs arguments, or does not return one value or a value and an error)", ft)
	}
	if fn.IsNil() {
		return reflect.Value{}, nil
	}
	var out []reflect.Value
	if ft.NumIn() == 1 {
		out = fn.Call([]reflect.Value{reflect.ValueOf(ec)})
	} else {
		out = fn.Call(nil)
	}
	if len(out) == 2 && !out[1].IsNil() {
		return reflect.Value{}, out[1].Interface().(error)
	}
	return out[0], nil
}

// Function types called without reflect.Call (which allocates its
// arguments and results): those of render's request members and the
// common shapes of context functions.
var (
	typeOfCtxAny    = reflect.TypeOf((func(*pongo2.ExecutionContext) any)(nil))
	typeOfCtxString = reflect.TypeOf((func(*pongo2.ExecutionContext) string)(nil))
	typeOfCtxMap    = reflect.TypeOf((func(*pongo2.ExecutionContext) map[string]string)(nil))
	typeOfCtxBool   = reflect.TypeOf((func(*pongo2.ExecutionContext) bool)(nil))
	typeOfAnyFunc   = reflect.TypeOf((func() any)(nil))
	typeOfStrFunc   = reflect.TypeOf((func() string)(nil))
)

// callFunc calls a function value held in a variable (not a method value).
func callFunc(ec *pongo2.ExecutionContext, fn reflect.Value) (reflect.Value, error) {
	if fn.IsNil() {
		return reflect.Value{}, nil
	}
	switch fn.Type() {
	case typeOfCtxAny:
		return reflect.ValueOf(fn.Interface().(func(*pongo2.ExecutionContext) any)(ec)), nil
	case typeOfCtxString:
		return reflect.ValueOf(fn.Interface().(func(*pongo2.ExecutionContext) string)(ec)), nil
	case typeOfCtxMap:
		return reflect.ValueOf(fn.Interface().(func(*pongo2.ExecutionContext) map[string]string)(ec)), nil
	case typeOfCtxBool:
		return reflect.ValueOf(fn.Interface().(func(*pongo2.ExecutionContext) bool)(ec)), nil
	case typeOfAnyFunc:
		return reflect.ValueOf(fn.Interface().(func() any)()), nil
	case typeOfStrFunc:
		return reflect.ValueOf(fn.Interface().(func() string)()), nil
	}
	return call(ec, fn)
}

// settle does what pongo2 does with each resolved part: unpack a
// *pongo2.Value (taking its safe flag), take an interface's dynamic value,
// and call a function.
func settle(ec *pongo2.ExecutionContext, v reflect.Value, safe bool) (reflect.Value, bool, error) {
	if !v.IsValid() {
		return v, safe, nil
	}
	if v.Type() == typeOfValuePtr {
		v, safe = unpackValue(v)
		if !v.IsValid() {
			return v, safe, nil
		}
	}
	if v.Kind() == reflect.Interface {
		v = v.Elem()
		if !v.IsValid() {
			return v, safe, nil
		}
	}
	if v.Kind() == reflect.Func {
		r, err := callFunc(ec, v)
		if err != nil || !r.IsValid() {
			return reflect.Value{}, safe, err
		}
		if r.Kind() == reflect.Interface {
			r = r.Elem()
		}
		if r.IsValid() && r.Type() == typeOfValuePtr {
			r, safe = unpackValue(r)
		}
		return r, safe, nil
	}
	return v, safe, nil
}

// pongo2.Value is struct{ val reflect.Value; safe bool }: valueLayout
// mirrors it, so that a resolved reflect.Value becomes a *pongo2.Value
// without boxing it into an interface first. valueLayoutOK is false (and
// the slower exported API is used) if pongo2's layout is not the expected
// one.
type valueLayout struct {
	val  reflect.Value
	safe bool
}

var valueLayoutOK = func() bool {
	t := reflect.TypeOf(pongo2.Value{})
	if t.NumField() != 2 || t.Size() != unsafe.Sizeof(valueLayout{}) {
		return false
	}
	f0, f1 := t.Field(0), t.Field(1)
	return f0.Name == "val" && f0.Type == reflect.TypeOf(reflect.Value{}) && f0.Offset == 0 &&
		f1.Name == "safe" && f1.Type.Kind() == reflect.Bool && f1.Offset == unsafe.Offsetof(valueLayout{}.safe)
}()

// newValue returns v as a *pongo2.Value.
func newValue(v reflect.Value, safe bool) *pongo2.Value {
	if valueLayoutOK {
		return (*pongo2.Value)(unsafe.Pointer(&valueLayout{val: v, safe: safe}))
	}
	var i any
	if v.IsValid() {
		i = v.Interface()
	}
	if safe {
		return pongo2.AsSafeValue(i)
	}
	return pongo2.AsValue(i)
}

// unpackValue returns the value and safe flag held by a *pongo2.Value.
func unpackValue(v reflect.Value) (reflect.Value, bool) {
	pv := v.Interface().(*pongo2.Value)
	if pv == nil {
		return reflect.Value{}, false
	}
	if valueLayoutOK {
		l := (*valueLayout)(unsafe.Pointer(pv))
		return l.val, l.safe
	}
	return reflect.ValueOf(pv.Interface()), false
}
