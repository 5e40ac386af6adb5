package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goTestTable runs a Go test that writes its markdown tables to the file
// whose path it gets in the environment variable outVar (outFile, under
// bench/out), and appends them to md; when the test fails, its output's
// end instead. env is added to the test's environment.
func goTestTable(ctx context.Context, md *strings.Builder, title, outFile, outVar string, env []string, args ...string) {
	out, err := filepath.Abs(outFile) // go test runs in the package's directory
	if err != nil {
		fmt.Fprintf(md, "\n## %s\n\n%v\n", title, err)
		return
	}
	_ = os.Remove(out)
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1", "-v", "-timeout", "5m"}, args...)...)
	cmd.Env = append(append(os.Environ(), outVar+"="+out), env...)
	logs, runErr := cmd.CombinedOutput()
	table, err := os.ReadFile(out)
	if err != nil || runErr != nil {
		fmt.Fprintf(md, "\n## %s\n\nfailed: %v %v\n\n```\n%s\n```\n", title, runErr, err, tail(string(logs), 2000))
		return
	}
	md.Write(table)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
