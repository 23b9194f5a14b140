package file

// The file access of platforms other than Linux, through the os package.
// It is compiled everywhere so that its tests run on Linux too.

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// osReadFile is readFile with the os package: see sys_linux.go. It
// reads the file at path: its first headerLen bytes, or all of it
// with whole (then buf is exactly size bytes, unless the file shrank while
// being read: short is true). A path that is not a regular file is an
// error. A missing file is an error satisfying fs.ErrNotExist.
func osReadFile(path string, whole bool) (buf []byte, size int64, id fs.FileInfo, short bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, nil, false, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fi, false, &fs.PathError{Op: "read", Path: path, Err: errNotRegular}
	}
	size = fi.Size()
	n := int64(headerLen)
	if whole {
		n = size
	}
	if n < headerLen || n > maxInt {
		return nil, size, fi, true, nil
	}
	buf = make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, size, fi, true, nil
		}
		return nil, size, fi, false, err
	}
	return buf, size, fi, false, nil
}

// osSameFile reports whether path names the file id; false if path is gone.
func osSameFile(path string, id fs.FileInfo) (bool, error) {
	cur, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return os.SameFile(id, cur), nil
}

// osWriteTemp writes data to a new temporary file in dir (mode 0600, named
// after tmpPattern) and returns its path. On error no file is left.
func osWriteTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*"+tmpSuffix)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// osListDir calls fn with the name of every regular file in dir. name is
// valid only during the call. A missing dir is an error satisfying
// fs.ErrNotExist.
func osListDir(dir string, fn func(name []byte)) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			fn([]byte(e.Name()))
		}
	}
	return nil
}
