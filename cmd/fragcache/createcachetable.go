package main

import (
	"flag"
	"fmt"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
)

func createCacheTableCommand() *command {
	c := &command{
		name:     "createcachetable",
		synopsis: "create the table of a database cache, as Django's createcachetable",
		usage:    "fragcache createcachetable --cache URL [--timeout D] [--dry-run]",
		help: `Create the table of the database cache at URL (sqlite:///abs/path.db?table=NAME
or postgres://user:password@host:5432/dbname?table=NAME) and its index on
expires, with the statements Django's manage.py createcachetable runs; when
the table exists, say so, as Django does, and change nothing. With
--dry-run, print the statements instead, as Django's --dry-run does, and
change nothing.
A Django project sharing the database may create the table itself: the
two are the same. --cache defaults to $` + cacheEnv + `.
`,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		cf := defineCacheFlags(fs)
		dry := fs.Bool("dry-run", false, "print the statements, change nothing")
		return func(args []string, std stdio) int {
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			if len(args) > 0 {
				return usageError(std.stderr, c, fmt.Sprintf("unexpected argument %q: createcachetable takes none", args[0]))
			}
			cc, code := cf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			b, ok := cache.As[*db.Backend](cc.Backend())
			if !ok {
				return usageError(std.stderr, c, fmt.Sprintf("%s:// is not a database cache (want sqlite://…?table=NAME or postgres://…?table=NAME)", cf.scheme()))
			}
			ctx, cancel := cf.context()
			defer cancel()
			exists, err := b.TableExists(ctx)
			if err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("looking for the table %q", b.Table()), err)
			}
			if exists {
				// Django's words, with or without --dry-run.
				fmt.Fprintf(std.stdout, "Cache table '%s' already exists.\n", b.Table())
				return exitOK
			}
			if *dry {
				stmts, err := db.CreateTableStatements(b.Dialect(), b.Table())
				if err != nil {
					return usageError(std.stderr, c, err.Error())
				}
				for _, s := range stmts {
					fmt.Fprintln(std.stdout, s)
				}
				return exitOK
			}
			if err := b.CreateTable(ctx); err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("creating the table %q", b.Table()), err)
			}
			return exitOK
		}
	}
	return c
}
