// Package httpheader holds what packages httpx and httpx/pagecache share
// without exporting it to users: header values read as Django reads them
// (ISO-8859-1 text, Python's str.strip/lower, comma-separated parts),
// canonical header names, Django's HTTP date parser, entity-tag lists and
// the evaluation of conditional requests (get_conditional_response).
package httpheader
