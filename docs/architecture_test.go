// Package docs holds the project's documentation; its test keeps the package
// table of architecture.md in step with the tree.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestArchitecturePackages: every Go package of the repository is in the
// package table of architecture.md, and every package the table names exists.
func TestArchitecturePackages(t *testing.T) {
	page, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9/]+)` \\|")
	for _, m := range row.FindAllStringSubmatch(string(page), -1) {
		listed = append(listed, m[1])
	}
	var tree []string
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		dir, _ := filepath.Rel("..", filepath.Dir(p))
		if !slices.Contains(tree, dir) {
			tree = append(tree, dir)
		}
		return nil
	})
	// Packages made only of tests (test/duckdb, test/pandas) have a _test.go file only.
	for _, d := range []string{"test/duckdb", "test/pandas"} {
		if _, err := os.Stat(filepath.Join("..", d)); err == nil {
			tree = append(tree, d)
		}
	}
	for _, p := range tree {
		if !slices.Contains(listed, p) {
			t.Errorf("package %s is not in architecture.md's table", p)
		}
	}
	for _, p := range listed {
		if !slices.Contains(tree, p) {
			t.Errorf("architecture.md lists %s, which is not a package of the tree", p)
		}
	}
	if len(listed) < 10 {
		t.Fatalf("found only %d packages in the table: %v", len(listed), listed)
	}
}
