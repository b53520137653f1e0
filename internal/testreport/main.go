// Command testreport reads `go test -json` on standard input and prints what
// `go test` prints without -v (a line per package, the output of failing tests and
// build errors), then counts the tests that ran, passed, failed and were skipped
// and lists each skip with its reason. scripts/test.sh uses it so that a run where
// most tests skipped (no root, no tshark) cannot pass unnoticed.
//
//	go test -json ./... | go run ./internal/testreport [-skips FILE]
//
// -skips appends one line per skipped test ("package Test: reason") to FILE, for
// a summary over several runs. The exit status is 1 when a test or a build failed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of test2json's output (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type key struct{ pkg, test string }

type report struct {
	out                  io.Writer
	buf                  map[key][]string // output of tests still running
	ran, passed, skipped int
	failed               []string
	skips                []string
	buildFailed          bool
	pkgFailed            bool // a package failed, perhaps without a failing test (crash, timeout)
}

func newReport(out io.Writer) *report {
	return &report{out: out, buf: map[key][]string{}}
}

// line handles one line of input; lines that are not JSON events (a go command
// error on stderr) are printed as they are.
func (r *report) line(s string) {
	var e event
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &e) != nil {
		fmt.Fprintln(r.out, s)
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(r.out, e.Output)
	case "build-fail":
		r.buildFailed = true
	case "output":
		if e.Test == "" {
			// Package-level lines: "ok  pkg 1.2s", "FAIL pkg", a crash's stack.
			// -json implies -v, whose bare "PASS" line go test omits without it.
			if e.Output != "PASS\n" {
				fmt.Fprint(r.out, e.Output)
			}
			return
		}
		r.buf[k] = append(r.buf[k], e.Output)
	case "pass":
		if e.Test != "" {
			r.ran++
			r.passed++
			delete(r.buf, k)
		}
	case "skip":
		if e.Test != "" {
			r.ran++
			r.skipped++
			r.skips = append(r.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(r.buf[k])))
			delete(r.buf, k)
		}
	case "fail":
		if e.Test != "" {
			r.ran++
			r.failed = append(r.failed, e.Package+" "+e.Test)
			r.flush(k)
			return
		}
		// A package that failed without its running tests reporting (a
		// timeout, a crash): their output is what explains it.
		r.pkgFailed = true
		for bk := range r.buf {
			if bk.pkg == e.Package {
				r.flush(bk)
			}
		}
	}
}

// flush prints a test's output as go test does without -v: its own lines and the
// verdict, not the progress markers.
func (r *report) flush(k key) {
	for _, s := range r.buf[k] {
		if !strings.HasPrefix(s, "=== ") {
			fmt.Fprint(r.out, s)
		}
	}
	delete(r.buf, k)
}

// reason is the message a test gave for its skip: its output without the
// progress and verdict lines, joined on one line.
func reason(lines []string) string {
	var parts []string
	for _, s := range lines {
		t := strings.TrimSpace(s)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func (r *report) failedAny() bool { return len(r.failed) > 0 || r.buildFailed || r.pkgFailed }

func (r *report) summary() string {
	return fmt.Sprintf("tests: %d run, %d passed, %d failed, %d skipped", r.ran, r.passed, len(r.failed), r.skipped)
}

func main() {
	skipsFile := flag.String("skips", "", "append the skipped tests to `FILE`")
	flag.Parse()
	r := newReport(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		r.line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: reading go test output: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(r.summary())
	if *skipsFile != "" && len(r.skips) > 0 {
		f, err := os.OpenFile(*skipsFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintln(f, strings.Join(r.skips, "\n"))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
			os.Exit(1)
		}
	}
	if r.failedAny() {
		os.Exit(1)
	}
}
