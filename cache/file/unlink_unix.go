//go:build unix

package file

import (
	"io/fs"
	"syscall"
)

// unlink removes the file at path, never a directory (os.Remove would
// remove an empty directory).
func unlink(path string) error {
	for {
		err := syscall.Unlink(path)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "unlink", Path: path, Err: err}
		}
		return nil
	}
}
