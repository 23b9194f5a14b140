//go:build !unix

package file

import (
	"errors"
	"io/fs"
	"os"
)

var errIsDir = errors.New("is a directory")

// unlink removes the file at path, never a directory (os.Remove would
// remove an empty directory).
func unlink(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return &fs.PathError{Op: "unlink", Path: path, Err: errIsDir}
	}
	return os.Remove(path)
}
