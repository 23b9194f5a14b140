package tags

import (
	"sync/atomic"

	"github.com/flosch/pongo2/v6"
)

// djangoFiltersInstalled is set once UseDjangoFilters has run; {% load
// humanize %} requires it, since the humanize filters exist only then.
var djangoFiltersInstalled atomic.Bool

// humanizeFilters are django.contrib.humanize's filters.
var humanizeFilters = map[string]pongo2.FilterFunction{}
