package tags

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"
)

type nameBase struct {
	CreatedAt string
	Shadowed  string
}

type nameProfile struct {
	Bio string `json:"bio"`
}

type nameUser struct {
	nameBase      // embedded: promoted fields
	*nameProfile  // embedded pointer (may be nil)
	Username      string
	ID            int
	HTMLURL       string
	UpdatedAt     time.Time
	Email         string `json:"email_address,omitempty"`
	Skipped       string `json:"-"`
	Shadowed      string // hides nameBase.Shadowed
	UserId        int    // not idiomatic: user_id still finds it
	APIKeyID      string
	secret        string
	password      string // unexported: never read
	Tags          []string
	Meta          map[string]any
	Friend        *nameUser
	NilPtr        *nameUser
	NilIface      any
	Callback      func() string
	first, last   string
	ValueReceiver string
}

func (u *nameUser) GetFullName() string { return u.first + " " + u.last }
func (u nameUser) IsStaff() bool        { return u.Username == "root" }
func (u *nameUser) Fail() (string, error) {
	return "", errors.New("fail called")
}
func (u *nameUser) NeedsArg(x int) string { return "never" }
func (u *nameUser) String() string        { return "User<" + u.Username + ">" }

type nameAmbiguous struct {
	UserID int
	UserId int
}

// dupJSON returns a struct with two fields tagged json:"dup" (built at run
// time: go vet rejects the duplicate tag in source).
func dupJSON() any {
	st := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeOf(""), Tag: `json:"dup"`},
		{Name: "B", Type: reflect.TypeOf(""), Tag: `json:"dup"`},
	})
	return reflect.New(st).Interface()
}

func (nameAmbiguous) GetURL() string { return "URL" }
func (nameAmbiguous) GetUrl() string { return "Url" }

type nameMap map[string]any

func (nameMap) Describe() string { return "described" }

func newNameUser() *nameUser {
	u := &nameUser{
		nameBase:    nameBase{CreatedAt: "2020", Shadowed: "base"},
		nameProfile: &nameProfile{Bio: "bio!"},
		Username:    "alice", ID: 7, HTMLURL: "https://a", Email: "a@x", Skipped: "skip",
		Shadowed: "outer", UserId: 9, APIKeyID: "k", secret: "s", password: "pw",
		Tags: []string{"t0", "t1"}, Meta: map[string]any{"Key": "K", "key": "k"},
		Callback: func() string { return "called" },
		first:    "Alice", last: "Liddell",
	}
	u.UpdatedAt = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	u.Friend = &nameUser{Username: "bob"}
	return u
}

func renderNames(t *testing.T, src string, ctx pongo2.Context, strict bool) (string, error) {
	t.Helper()
	set := pongo2.NewSet("names-"+t.Name(), noLoader{})
	tpl, err := set.FromString(src)
	if err != nil {
		t.Fatalf("parse %s: %v", src, err)
	}
	if err := DjangoNames(tpl, NameOptions{Strict: strict}); err != nil {
		t.Fatal(err)
	}
	return tpl.Execute(ctx)
}

// TestDjangoNames is the name mapping, step by step, through {{ }} in a
// template rewritten by DjangoNames.
func TestDjangoNames(t *testing.T) {
	UseDjangoBuiltins() // Django's date filter, whatever ran before
	u := newNameUser()
	val := *u
	val.Friend = nil
	ctx := pongo2.Context{
		"u": u, "v": val, "amb": nameAmbiguous{UserID: 1, UserId: 2}, "m": nameMap{"Username": "M"}, "dj": dupJSON(),
		"plain": map[string]any{"Username": "P", "user": u}, "list": []*nameUser{u, u.Friend},
		"nilval": nil, "strs": map[string]string{"a": "A"},
	}
	tests := []struct{ name, src, want string }{
		{"exact field", "{{ u.Username }}", "alice"},
		{"exact method", "{{ u.GetFullName }}", "Alice Liddell"},
		{"json tag", "{{ u.email_address }}", "a@x"},
		{"json tag on embedded pointer", "{{ u.bio }}", "bio!"},
		{"json dash: no json name, the Go name still maps", "{{ u.skipped }}", "skip"},
		{"snake to Go", "{{ u.username }}", "alice"},
		{"initialism id", "{{ u.id }}", "7"},
		{"two initialisms", "{{ u.html_url }}", "https://a"},
		{"initialism in the middle", "{{ u.api_key_id }}", "k"},
		{"words", "{{ u.updated_at|date:\"Y\" }}", "2024"},
		{"non-idiomatic Id", "{{ u.user_id }}", "9"},
		{"promoted field", "{{ u.created_at }}", "2020"},
		{"shallower field wins", "{{ u.shadowed }}", "outer"},
		{"method, pointer receiver", "{{ u.get_full_name }}", "Alice Liddell"},
		{"method, value receiver", "{{ u.is_staff }}", "False"},
		{"pointer method on a value", "{{ v.get_full_name }}", "Alice Liddell"},
		{"field of a value", "{{ v.username }}", "alice"},
		{"unexported field ignored", "{{ u.secret }}|{{ u.password }}|{{ u.first }}", "||"},
		{"method with arguments not called", "{{ u.needs_arg }}", ""},
		{"func field called", "{{ u.callback }}", "called"},
		{"nested", "{{ u.friend.username }}", "bob"},
		{"nil pointer on the way", "{{ u.nil_ptr.username }}", ""},
		{"index", "{{ u.tags.1 }}", "t1"},
		{"index out of range", "{{ u.tags.5 }}", ""},
		{"map exact key", "{{ u.meta.Key }}{{ u.meta.key }}", "Kk"},
		{"map untouched", "{{ plain.username }}", ""},
		{"map of string", "{{ strs.a }}", "A"},
		{"named map: exact method, key", "{{ m.Describe }}{{ m.Username }}", "describedM"},
		{"named map: no mapping", "{{ m.username }}{{ m.describe }}", ""},
		{"through a map", "{{ plain.user.get_full_name }}", "Alice Liddell"},
		{"for loop items", "{% for x in list %}{{ x.username }},{% endfor %}", "alice,bob,"},
		{"with", "{% with n=u.username %}{{ n }}{% endwith %}", "alice"},
		{"if", "{% if u.is_staff %}staff{% else %}user{% endif %}", "user"},
		{"filter argument", "{{ \"x\"|default:u.username }}", "x"},
		{"filter input", "{{ nilval|default:u.username }}", "alice"},
		{"Stringer", "{{ u }}", "User<alice>"},
		{"subscript keeps pongo2's lookup", "{{ u[\"Username\"] }}", "alice"},
		{"ambiguous fields resolve to nothing", "{{ amb.user_id }}", ""},
		{"ambiguous json names resolve to nothing", "{{ dj.dup }}", ""},
		{"ambiguous methods resolve to nothing", "{{ amb.get_url }}", ""},
		{"exact name is not ambiguous", "{{ amb.UserId }}", "2"},
		{"missing", "{{ nope.x }}{{ u.nope }}", ""},
		{"pongo2's forloop", "{% for x in list %}{% for y in list %}{{ forloop.parentloop.counter }}{{ forloop.counter0 }}{% if forloop.last %};{% endif %}{% endfor %}{% endfor %}", "1011;2021;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := renderNames(t, tt.src, ctx, false)
			if err != nil || out != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.src, out, err, tt.want)
			}
		})
	}

	t.Run("strict ambiguity is an error", func(t *testing.T) {
		for src, want := range map[string]string{
			"x\n{{ amb.user_id }}": "fields UserID and UserId",
			"{{ dj.dup }}":         "fields A and B",
			"{{ amb.get_url }}":    "methods GetURL and GetUrl",
		} {
			_, err := renderNames(t, src, ctx, true)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ambiguous") {
				t.Errorf("%s: %v, want an ambiguity error with %q", src, err, want)
			}
		}
		_, err := renderNames(t, "x\n{{ amb.user_id }}", ctx, true)
		var pe *pongo2.Error
		if !errors.As(err, &pe) || pe.Line != 2 {
			t.Errorf("error position: %v", err)
		}
		if out, err := renderNames(t, "{{ u.username }}", ctx, true); err != nil || out != "alice" {
			t.Errorf("strict: %q, %v", out, err)
		}
	})
	t.Run("method error", func(t *testing.T) {
		if _, err := renderNames(t, "{{ u.fail }}", ctx, false); err == nil || !strings.Contains(err.Error(), "fail called") {
			t.Errorf("error %v", err)
		}
	})
}

func TestGoNames(t *testing.T) {
	for in, want := range map[string]string{
		"id":            "ID,Id",
		"url":           "URL,Url",
		"updated_at":    "UpdatedAt",
		"html_url":      "HTMLURL,HtmlUrl",
		"get_full_name": "GetFullName",
		"user_id":       "UserID,UserId",
		"address2":      "Address2",
		"x":             "X",
		"Username":      "",
		"_x":            "",
		"a__b":          "",
		"a_":            "",
		"café":          "",
		"":              "",
	} {
		if got := strings.Join(goNames(in), ","); got != want {
			t.Errorf("goNames(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestResolveAbsentVersusNil: a name that does not exist is absent; a
// present nil value, or a nil pointer on the way, is not.
func TestResolveAbsentVersusNil(t *testing.T) {
	u := newNameUser()
	ec := &pongo2.ExecutionContext{
		Public:  pongo2.Context{"u": u, "nilval": nil, "m": map[string]any{"k": nil}},
		Private: pongo2.Context{},
	}
	for text, wantAbsent := range map[string]string{
		"u.username":          "",
		"u.nil_ptr":           "",
		"u.nil_ptr.username":  "",
		"u.nil_iface":         "",
		"u.nil_iface.x":       "",
		"nilval":              "",
		"nilval.x":            "",
		"m.k":                 "",
		"u.bio":               "",
		"nope":                "nope",
		"u.usernme":           "usernme",
		"u.friend.nope":       "nope",
		"m.nope":              "nope",
		"u.tags.9":            "9",
		"u.secret":            "secret",
		"u.username.x":        "x",
		"u.meta.Key.whatever": "whatever",
	} {
		p := newVarPath(strings.Split(text, "."), text, nil)
		res, err := p.resolve(ec, false)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got := ""
		if res.absent != nil {
			got = res.absent.name
			if !strings.Contains(res.absent.Error(), text) {
				t.Errorf("%s: message %q lacks the expression", text, res.absent.Error())
			}
		}
		if got != wantAbsent {
			t.Errorf("%s: absent %q, want %q", text, got, wantAbsent)
		}
	}
}

// TestMemberCache: a (type, name) resolution is computed once.
func TestMemberCache(t *testing.T) {
	type fresh struct{ UpdatedAt int }
	a := lookupMember(typeOf[fresh](), "updated_at")
	b := lookupMember(typeOf[fresh](), "updated_at")
	if a != b || a.kind != memberField {
		t.Errorf("%+v %+v", a, b)
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }
