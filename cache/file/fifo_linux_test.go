package file

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// A FIFO in place of a cache file must not block a read.
func TestFIFOInPlaceOfFile(t *testing.T) {
	s, _ := newStore(t, Options{})
	path := s.path("k")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, _, err := s.Get(context.Background(), "k")
	if !errors.Is(err, errNotRegular) {
		t.Errorf("Get = %v, want not a regular file", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("FIFO removed: %v", err)
	}
}
