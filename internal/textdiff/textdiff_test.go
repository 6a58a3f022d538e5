package textdiff

import "testing"

func TestUnified(t *testing.T) {
	if got := Unified("a\nb\n", "a\nb\n", 2); got != "" {
		t.Errorf("equal texts: %q", got)
	}
	got := Unified("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\nX\n5\n6\n7\n8\nY\n", 1)
	want := "@@ -3 +3 @@\n 3\n-4\n+X\n 5\n@@ -8 +8 @@\n 8\n+Y\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
