package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

func getCommand() *command {
	c := &command{
		name:     "get",
		synopsis: "print the value stored under a key",
		usage:    "fragcache get --cache URL [--prefix P] [--version V] [--timeout D] [--raw] KEY",
		help: `Print the value stored under KEY in the cache at URL. A text value (valid
UTF-8 without control characters other than tab, CR and LF) is printed as
is, with a newline added if it does not end with one; any other value is
printed as a hex dump (hexdump -C style), with a note on stderr. --raw
writes the value's exact bytes instead, with nothing added: use it to pipe
a value to a file or another program. A stored empty value is a hit.

A key that is not in the cache prints "not found" on stderr and exits
with status 3, so a script can tell a miss from an error (status 1).

` + keysHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyCommandFlags(fs)
		raw := fs.Bool("raw", false, "write the value's exact bytes to stdout, with nothing added")
		return func(args []string, std stdio) int {
			if code := kf.check(c, std.stderr); code != exitOK {
				return code
			}
			if code := keyArgs(c, fs, args, 1, false, "KEY", std.stderr); code != exitOK {
				return code
			}
			key := args[0]
			cc, code := kf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf := kf.cacheFlags
			cf.warnPrivate(c, std.stderr, "it holds nothing")
			ctx, cancel := cf.context()
			defer cancel()
			mk := cc.MakeKey(key)
			check := swallowed(cc)
			v, ok, err := cc.Get(ctx, key)
			if err == nil {
				err = check()
			}
			if err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("getting %q", mk), err)
			}
			warnKey(std.stderr, c, mk)
			if !ok {
				fmt.Fprintf(std.stderr, "fragcache get: not found: %s (made key %s)\n", key, mk)
				return exitNotFound
			}
			switch {
			case *raw:
				_, err = std.stdout.Write(v)
			case isText(v):
				_, err = std.stdout.Write(v)
				if err == nil && (len(v) == 0 || v[len(v)-1] != '\n') {
					_, err = io.WriteString(std.stdout, "\n")
				}
			default:
				fmt.Fprintf(std.stderr, "fragcache get: the value is binary (%s): a hex dump follows; --raw writes the bytes\n", byteCount(len(v)))
				_, err = io.WriteString(std.stdout, hex.Dump(v))
			}
			if err != nil {
				fmt.Fprintf(std.stderr, "fragcache get: writing the value: %v\n", err)
				return exitError
			}
			return exitOK
		}
	}
	return c
}

// isText reports whether v is printed as text: valid UTF-8 without control
// characters other than tab, newline and carriage return (NUL, escape
// sequences and the like would garble a terminal).
func isText(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
