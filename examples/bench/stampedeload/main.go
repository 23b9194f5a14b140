// Command stampedeload is the load generator of the stampede benchmark
// (examples/bench/stampede.sh): it sends GET requests at a steady rate
// (open loop: each request leaves at its scheduled instant, whatever the
// others do, so that a slow expiry does not hold the load back), spread
// round-robin over several bench servers (examples/bench/server), and
// timestamps every one. At the end it reads each server's renders of the
// hot fragment (GET /stats/hot), groups them into expiries (renders less
// than -gap apart), and classifies each request as during an expiry (it
// left between the first render's start and the last render's end of an
// expiry) or between expiries. It prints one Markdown table row:
//
//	| label | requests | errors | expiries | renders | renders/expiry (mean, max) | p50 | p99 during | p99 between | during/between |
//
//	go run ./examples/bench/stampedeload -label grace -rate 1000 -d 20s \
//	    http://127.0.0.1:8001/hot/ http://127.0.0.1:8002/hot/
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	label := flag.String("label", "", "the row's label")
	rate := flag.Float64("rate", 1000, "requests per second, over all servers")
	dur := flag.Duration("d", 20*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured load before the measured duration")
	gap := flag.Duration("gap", 400*time.Millisecond, "renders less than this apart belong to one expiry")
	timeout := flag.Duration("timeout", 10*time.Second, "HTTP client timeout")
	slow := flag.Duration("slow", 0, "if positive, print to stderr each request slower than this, with its offset from the nearest expiry's start")
	flag.Parse()
	targets := flag.Args()
	if len(targets) == 0 || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "usage: stampedeload [flags] URL...")
		os.Exit(2)
	}
	res, err := run(targets, *rate, *warmup, *dur, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stampedeload:", err)
		os.Exit(1)
	}
	renders, err := fetchRenders(targets, res.start, res.end)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stampedeload:", err)
		os.Exit(1)
	}
	fmt.Println(summarize(*label, res, renders, *gap))
	if *slow > 0 {
		exps := expiries(renders, *gap)
		for _, r := range res.reqs {
			if r.took < *slow {
				continue
			}
			off := time.Duration(1<<63 - 1)
			for _, e := range exps {
				if d := r.at.Sub(e.start); d.Abs() < off.Abs() {
					off = d
				}
			}
			fmt.Fprintf(os.Stderr, "slow: took %v, %v from the nearest expiry\n", r.took, off)
		}
	}
}

// request is one request: when it was scheduled to leave, how long it
// took from then, and whether it failed.
type request struct {
	at   time.Time
	took time.Duration
	err  bool
}

// result is a run's measured requests.
type result struct {
	start, end time.Time
	reqs       []request
}

// run sends the load and returns the requests of the measured part.
func run(targets []string, rate float64, warmup, dur, timeout time.Duration) (*result, error) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	// Check every target first.
	for _, t := range targets {
		resp, err := client.Get(t)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", t, resp.StatusCode)
		}
	}
	interval := time.Duration(float64(time.Second) / rate)
	begin := time.Now().Add(50 * time.Millisecond)
	res := &result{start: begin.Add(warmup), end: begin.Add(warmup + dur)}
	n := int((warmup + dur) / interval)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range n {
		at := begin.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func(target string) {
			defer wg.Done()
			r := request{at: at}
			resp, err := client.Get(target)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			r.took, r.err = time.Since(at), err != nil
			if at.Before(res.start) {
				return
			}
			mu.Lock()
			res.reqs = append(res.reqs, r)
			mu.Unlock()
		}(targets[i%len(targets)])
	}
	wg.Wait()
	return res, nil
}

// render is one render of the hot fragment by a server.
type render struct{ start, end time.Time }

// fetchRenders reads every server's renders (GET /stats/hot) within
// [from, to].
func fetchRenders(targets []string, from, to time.Time) ([]render, error) {
	var out []render
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil {
			return nil, err
		}
		u.Path = "/stats/hot"
		resp, err := http.Get(u.String())
		if err != nil {
			return nil, err
		}
		var st struct{ Renders [][2]int64 }
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		for _, r := range st.Renders {
			s, e := time.Unix(0, r[0]), time.Unix(0, r[1])
			if !s.Before(from) && s.Before(to) {
				out = append(out, render{s, e})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out, nil
}

// expiry is a group of renders less than the gap apart.
type expiry struct {
	start, end time.Time
	renders    int
}

func expiries(renders []render, gap time.Duration) []expiry {
	var out []expiry
	for _, r := range renders {
		if n := len(out); n > 0 && r.start.Sub(out[n-1].end) < gap {
			out[n-1].renders++
			if r.end.After(out[n-1].end) {
				out[n-1].end = r.end
			}
			continue
		}
		out = append(out, expiry{r.start, r.end, 1})
	}
	return out
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

// summarize returns the run's Markdown table row.
func summarize(label string, res *result, renders []render, gap time.Duration) string {
	exps := expiries(renders, gap)
	var all, during, between []time.Duration
	errs := 0
	for _, r := range res.reqs {
		if r.err {
			errs++
			continue
		}
		all = append(all, r.took)
		in := false
		// Expiries are few: a linear scan is fine.
		for _, e := range exps {
			if !r.at.Before(e.start) && !r.at.After(e.end) {
				in = true
				break
			}
		}
		if in {
			during = append(during, r.took)
		} else {
			between = append(between, r.took)
		}
	}
	most := 0
	for _, e := range exps {
		most = max(most, e.renders)
	}
	mean := 0.0
	if len(exps) > 0 {
		mean = float64(len(renders)) / float64(len(exps))
	}
	pd, pb := percentile(during, 0.99), percentile(between, 0.99)
	ratio := 0.0
	if pb > 0 {
		ratio = float64(pd) / float64(pb)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %.2f, %d | %s | %s (%d req.) | %s (%d req.) | %.2f× |",
		label, len(res.reqs), errs, len(exps), len(renders), mean, most, ms(percentile(all, 0.5)),
		ms(pd), len(during), ms(pb), len(between), ratio)
}
