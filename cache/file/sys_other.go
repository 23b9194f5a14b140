//go:build !linux

package file

import (
	"io/fs"
	"os"
)

// fileID identifies a file, to tell whether a path still names the file that
// was read.
type fileID = fs.FileInfo

// readFile reads the file at path: its first headerLen bytes, or all of it
// with whole (then buf is exactly size bytes, unless the file shrank while
// being read: short is true). A path that is not a regular file is an
// error. A missing file is an error satisfying fs.ErrNotExist.
func readFile(path string, whole bool) (buf []byte, size int64, id fileID, short bool, err error) {
	return osReadFile(path, whole)
}

// sameFile reports whether path names the file id; false if path is gone.
func sameFile(path string, id fileID) (bool, error) { return osSameFile(path, id) }

// writeTemp writes data to a new temporary file in dir (mode 0600) and
// returns its path. On error no file is left.
func writeTemp(dir string, data []byte) (string, error) { return osWriteTemp(dir, data) }

// rename renames oldpath over newpath.
func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// listDir calls fn with the name of every regular file in dir. name is
// valid only during the call. A missing dir is an error satisfying
// fs.ErrNotExist.
func listDir(dir string, fn func(name []byte)) error { return osListDir(dir, fn) }
