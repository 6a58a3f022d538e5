package shellvars

import "testing"

func TestParse(t *testing.T) {
	got := Parse("# settings\nENABLED=\"yes\"\n#LOGLEVEL=high\n  LOGLEVEL = 'low' \nX=1\nX=2\nnot a variable\n")
	want := map[string]string{"ENABLED": "yes", "LOGLEVEL": "low", "X": "2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
