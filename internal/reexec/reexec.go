// Package reexec starts the running test binary again as helper processes,
// for tests that need several OS processes on one cache: each helper runs
// one test function, which reads its part from the environment.
package reexec

import (
	"os"
	"os/exec"
)

// Command returns the command running the test binary's test function
// helper alone, with env added to this process's environment and args
// added to its flags.
func Command(helper string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^" + helper + "$", "-test.count=1"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// Result is what one helper process printed (stdout and stderr) and its
// exit error.
type Result struct {
	Out []byte
	Err error
}

// Start starts n helper processes at once, the i-th with env(i) (see
// Command), and returns the channel their n results arrive on, as they
// exit.
func Start(helper string, n int, env func(i int) []string, args ...string) <-chan Result {
	results := make(chan Result, n)
	for i := range n {
		cmd := Command(helper, env(i), args...)
		go func() {
			out, err := cmd.CombinedOutput()
			results <- Result{out, err}
		}()
	}
	return results
}
