package main

import (
	"bytes"
	"strings"
	"testing"
)

// ev builds one test2json line.
func ev(action, test, output string) string {
	s := `{"Action":"` + action + `","Package":"p"`
	if test != "" {
		s += `,"Test":"` + test + `"`
	}
	if output != "" {
		s += `,"Output":` + quote(output)
	}
	return s + "}"
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

func TestReport(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []string
		out     string // exactly what is printed before the summary
		summary string
		skips   []string
		fails   bool
	}{
		{
			name: "pass and skip",
			in: []string{
				ev("run", "TestA", ""), ev("output", "TestA", "=== RUN   TestA\n"),
				ev("output", "TestA", "    a_test.go:3: a log line\n"),
				ev("output", "TestA", "--- PASS: TestA (0.00s)\n"), ev("pass", "TestA", ""),
				ev("run", "TestB", ""), ev("output", "TestB", "=== RUN   TestB\n"),
				ev("output", "TestB", "    b_test.go:9: tshark not installed\n"),
				ev("output", "TestB", "--- SKIP: TestB (0.00s)\n"), ev("skip", "TestB", ""),
				ev("output", "", "PASS\n"), ev("output", "", "ok  \tp\t0.1s\n"), ev("pass", "", ""),
			},
			out:     "ok  \tp\t0.1s\n",
			summary: "tests: 2 run, 1 passed, 0 failed, 1 skipped",
			skips:   []string{"p TestB: b_test.go:9: tshark not installed"},
		},
		{
			name: "failing subtest",
			in: []string{
				ev("run", "TestC", ""), ev("output", "TestC", "=== RUN   TestC\n"),
				ev("run", "TestC/x", ""), ev("output", "TestC/x", "=== RUN   TestC/x\n"),
				ev("output", "TestC/x", "    c_test.go:5: got 1, want 2\n"),
				ev("output", "TestC/x", "    --- FAIL: TestC/x (0.00s)\n"), ev("fail", "TestC/x", ""),
				ev("output", "TestC", "--- FAIL: TestC (0.00s)\n"), ev("fail", "TestC", ""),
				ev("output", "", "FAIL\n"), ev("output", "", "FAIL\tp\t0.1s\n"), ev("fail", "", ""),
			},
			out:     "    c_test.go:5: got 1, want 2\n    --- FAIL: TestC/x (0.00s)\n--- FAIL: TestC (0.00s)\nFAIL\nFAIL\tp\t0.1s\n",
			summary: "tests: 2 run, 0 passed, 2 failed, 0 skipped",
			fails:   true,
		},
		{
			name: "timeout shows the running test",
			in: []string{
				ev("run", "TestD", ""), ev("output", "TestD", "=== RUN   TestD\n"),
				ev("output", "TestD", "    d_test.go:1: waiting\n"),
				ev("output", "", "panic: test timed out after 1s\n"), ev("fail", "", ""),
			},
			out:     "panic: test timed out after 1s\n    d_test.go:1: waiting\n",
			summary: "tests: 0 run, 0 passed, 0 failed, 0 skipped",
			fails:   true,
		},
		{
			name:    "build failure and plain lines",
			in:      []string{"go: some error", ev("build-output", "", "x.go:1: undefined: y\n"), ev("build-fail", "", "")},
			out:     "go: some error\nx.go:1: undefined: y\n",
			summary: "tests: 0 run, 0 passed, 0 failed, 0 skipped",
			fails:   true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			r := newReport(&b)
			for _, l := range c.in {
				r.line(l)
			}
			if b.String() != c.out {
				t.Errorf("printed %q, want %q", b.String(), c.out)
			}
			if r.summary() != c.summary {
				t.Errorf("summary %q, want %q", r.summary(), c.summary)
			}
			if strings.Join(r.skips, "\n") != strings.Join(c.skips, "\n") {
				t.Errorf("skips %q, want %q", r.skips, c.skips)
			}
			if fails := r.failedAny(); fails != c.fails {
				t.Errorf("failed = %v, want %v", fails, c.fails)
			}
		})
	}
}
