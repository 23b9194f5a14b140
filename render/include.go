package render

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/flosch/pongo2/v6"
)

// includeLoader is the Renderer's tags.IncludeLoader: {% include
// name_variable %} gets its template from the Renderer's cache (parsed
// once, re-parsed in debug mode when a file changed), with the Renderer's
// parse lock, instead of pongo2 parsing it on every render.
type includeLoader struct{ rd *Renderer }

// IncludeTemplate implements tags.IncludeLoader.
func (l includeLoader) IncludeTemplate(name string) (*pongo2.Template, error) {
	tpl, err := l.rd.template(name)
	if err != nil && errors.Is(err, ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%w)", err, fs.ErrNotExist)
	}
	return tpl, err
}
