package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1 // operational error
	exitUsage    = 2 // usage error
	exitNotFound = 3 // get or delete of a key that is not in the cache
)

// stdio is a command's standard streams.
type stdio struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is a subcommand.
type command struct {
	name     string
	synopsis string // one line, for the command list
	usage    string // the usage line
	help     string // what it does, before the flags
	// setup defines the flags on fs and returns the function that runs the
	// command with the positional arguments once the flags are parsed.
	setup func(fs *flag.FlagSet) func(args []string, std stdio) int
}

func commands() []*command {
	return []*command{
		keyCommand(), invalidateCommand(),
		getCommand(), setCommand(), deleteCommand(),
		clearCommand(), statsCommand(), createCacheTableCommand(),
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// mainUsage is the usage of the program.
func mainUsage(w io.Writer) {
	fmt.Fprint(w, "fragcache works with the template fragment caches of fragcache and Django.\n\nUsage:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s\n", c.usage)
	}
	fmt.Fprint(w, "  fragcache help [COMMAND]\n\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(w, "  help        show this help, or a command's\n\n"+
		"Run \"fragcache COMMAND -h\" for a command's flags.\n"+
		"--cache defaults to $"+cacheEnv+".\n"+
		"Exit status: 0 success, 1 operational error, 2 usage error, 3 key not found.\n")
}

// commandUsage writes a command's usage and flags.
func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\nFlags:\n", c.usage, c.help)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// run runs the command line args (without the program name) with the
// given standard streams and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "fragcache: no command\n\n")
		mainUsage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := findCommand(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "fragcache help: unknown command %q\n\n", args[1])
				mainUsage(stderr)
				return exitUsage
			}
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.setup(fs)
			commandUsage(stdout, c, fs)
			return exitOK
		}
		mainUsage(stdout)
		return exitOK
	default:
		c := findCommand(name)
		if c == nil {
			fmt.Fprintf(stderr, "fragcache: unknown command %q\n\n", name)
			mainUsage(stderr)
			return exitUsage
		}
		return runCommand(c, args[1:], stdio{stdin, stdout, stderr})
	}
}

func runCommand(c *command, args []string, std stdio) int {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, help goes to stdout
	fs.Usage = func() {}
	exec := c.setup(fs)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(std.stdout, c, fs)
			return exitOK
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "flag provided but not defined: -") {
			msg += ` (a value that starts with "-" goes after "--", which ends the flags)`
		}
		return usageError(std.stderr, c, msg)
	}
	return exec(positional, std)
}

// parseInterspersed parses flags anywhere among the arguments, as most
// command-line tools do: "fragcache get KEY --cache URL" works. "--" ends
// flag parsing; every argument after it is positional, so a VARY value
// such as -1 is written after --.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError reports a usage error, with the command's usage line, and
// returns exitUsage.
func usageError(stderr io.Writer, c *command, msg string) int {
	fmt.Fprintf(stderr, "fragcache %s: %s\nUsage: %s\nRun \"fragcache help %s\" for details.\n", c.name, msg, c.usage, c.name)
	return exitUsage
}

// quietRedis drops go-redis's log lines (failed dials and the like): the
// commands report the errors themselves.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { goredis.SetLogger(quietRedis{}) }
