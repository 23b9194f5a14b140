//go:build linux

package file

// File access with plain system calls. Going through os.File costs five
// more system calls per open (os registers every file with the network
// poller, which regular files refuse) and os.Rename an lstat; a Set and a Get
// open three files, so this saves a quarter of their time on tmpfs.

import (
	"encoding/binary"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
)

// fileID identifies a file, to tell whether a path still names the file that
// was read.
type fileID struct{ dev, ino uint64 }

func pathErr(op, path string, err error) error {
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// readFile reads the file at path: its first headerLen bytes, or all of it
// with whole (then buf is exactly size bytes, unless the file shrank while
// being read: short is true). A path that is not a regular file is an
// error. A missing file is an error satisfying fs.ErrNotExist.
func readFile(path string, whole bool) (buf []byte, size int64, id fileID, short bool, err error) {
	var fd int
	for {
		// O_NONBLOCK keeps a FIFO put in place of a cache file from blocking
		// the open; it does nothing to regular files.
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, 0, id, false, pathErr("open", path, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, 0, id, false, pathErr("stat", path, err)
	}
	id = fileID{uint64(st.Dev), st.Ino} //nolint:unconvert // Dev is uint32 on some platforms
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, 0, id, false, pathErr("read", path, errNotRegular)
	}
	size = st.Size
	n := int64(headerLen)
	if whole {
		n = size
	}
	if n < headerLen || n > maxInt {
		return nil, size, id, true, nil
	}
	buf = make([]byte, n)
	for off := 0; off < len(buf); {
		m, err := syscall.Read(fd, buf[off:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, size, id, false, pathErr("read", path, err)
		case m == 0:
			return nil, size, id, true, nil
		}
		off += m
	}
	return buf, size, id, false, nil
}

// sameFile reports whether path names the file id; false if path is gone.
func sameFile(path string, id fileID) (bool, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.ENOENT:
			return false, nil
		case err != nil:
			return false, pathErr("lstat", path, err)
		}
		return uint64(st.Dev) == id.dev && st.Ino == id.ino, nil //nolint:unconvert
	}
}

// writeTemp writes data to a new temporary file in dir (mode 0600, named
// after tmpPattern) and returns its path. On error no file is left.
func writeTemp(dir string, data []byte) (string, error) {
	var fd int
	var tmp string
	var err error
	for try := 0; ; try++ {
		tmp = dir + "/" + tmpPrefix + strconv.FormatUint(rand.Uint64(), 36) + tmpSuffix
		fd, err = syscall.Open(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0o600)
		if err == nil {
			break
		}
		if err == syscall.EINTR || err == syscall.EEXIST && try < 100 {
			continue
		}
		return "", pathErr("open", tmp, err)
	}
	for off := 0; off < len(data); {
		n, werr := syscall.Write(fd, data[off:])
		if werr == syscall.EINTR {
			continue
		}
		if werr == nil && n == 0 {
			werr = syscall.EIO
		}
		if werr != nil {
			syscall.Close(fd)
			syscall.Unlink(tmp)
			return "", pathErr("write", tmp, werr)
		}
		off += n
	}
	// Close may report a deferred write error (NFS); EINTR from close
	// must not be retried on Linux.
	if cerr := syscall.Close(fd); cerr != nil && cerr != syscall.EINTR {
		syscall.Unlink(tmp)
		return "", pathErr("close", tmp, cerr)
	}
	return tmp, nil
}

// rename renames oldpath over newpath.
func rename(oldpath, newpath string) error {
	for {
		err := syscall.Rename(oldpath, newpath)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
		}
		return nil
	}
}

// listDir calls fn with the name of every entry of dir that may be a
// regular file (directories and other types are skipped; entries of unknown
// type are included). name is valid only during the call. A missing dir is
// an error satisfying fs.ErrNotExist.
func listDir(dir string, fn func(name []byte)) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return pathErr("open", dir, err)
	}
	defer syscall.Close(fd)
	buf := make([]byte, 8<<10)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return pathErr("readdirent", dir, err)
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen;
		// u8 d_type; char d_name[]; }
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			rec := b[:reclen]
			b = b[reclen:]
			if binary.NativeEndian.Uint64(rec) == 0 { // d_ino 0: a deleted entry
				continue
			}
			switch rec[18] {
			case syscall.DT_REG, syscall.DT_UNKNOWN:
			default:
				continue
			}
			name := rec[19:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			fn(name)
		}
	}
}
