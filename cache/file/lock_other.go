//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package file

import "os"

// haveFlock reports whether index files are locked (see Store.IndexAdd).
const haveFlock = false

// lockFile does nothing where flock is not available: see Store.IndexAdd.
func lockFile(*os.File, bool) error { return nil }
