// Package templates_test renders real templates (testdata/) with the
// {% cache %} fragment tag end to end: through the render package (a
// Renderer over os.DirFS) and, in TestDirectPongo2Set, through a bare
// pongo2 template set. It covers inheritance, include, loops, nesting,
// with, autoescape, concurrency, invalidation and a failing backend.
package templates_test
