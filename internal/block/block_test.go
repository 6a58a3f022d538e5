package block

import (
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

const block = rules.MarkerBegin + "\n*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n" + rules.MarkerEnd + "\n"
const block2 = rules.MarkerBegin + "\n*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n" + rules.MarkerEnd + "\n"

func TestInsertRemoveRoundTrip(t *testing.T) {
	for _, orig := range []string{
		"", "*filter\nCOMMIT\n", "*filter\nCOMMIT", "# no newline at end", "\n\n", "a\r\nb\r\n",
	} {
		with, err := Insert(orig, block)
		if err != nil {
			t.Fatalf("%q: %v", orig, err)
		}
		if !strings.HasPrefix(with, orig) {
			t.Errorf("%q: insertion changed the user's text: %q", orig, with)
		}
		replaced, err := Insert(with, block2)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(replaced, block2[len(rules.MarkerBegin):]) || strings.Contains(replaced, "-A DOCKER-USER -j RETURN") {
			t.Errorf("%q: block not replaced: %q", orig, replaced)
		}
		back, err := Remove(replaced)
		if err != nil || back != orig {
			t.Errorf("%q: remove gave %q, %v", orig, back, err)
		}
	}
}

func TestReplaceInPlaceKeepsSurroundings(t *testing.T) {
	in := "head\n" + block + "tail written by the user\n"
	out, err := Insert(in, block2)
	if err != nil || out != "head\n"+block2+"tail written by the user\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	back, _ := Remove(out)
	if back != "head\ntail written by the user\n" {
		t.Errorf("remove: %q", back)
	}
}

func TestDamagedMarkersRefused(t *testing.T) {
	for _, in := range []string{
		rules.MarkerBegin + "\nx\n",
		"x\n" + rules.MarkerEnd + "\n",
		rules.MarkerEnd + "\n" + rules.MarkerBegin + "\n",
		block + block,
		rules.MarkerBegin + " extra\n" + rules.MarkerEnd + "\n",
		"  " + rules.MarkerBegin + "\n" + rules.MarkerEnd + "\n",
		rules.MarkerBegin + "\n" + rules.MarkerEnd + "x\n",
	} {
		if _, err := Insert(in, block); err == nil {
			t.Errorf("%q: insert accepted damaged markers", in)
		}
		if out, err := Remove(in); err == nil || out != in {
			t.Errorf("%q: remove accepted damaged markers", in)
		}
	}
	if _, err := Insert("x\n", "*filter\nCOMMIT\n"); err == nil {
		t.Error("a block without markers was accepted")
	}
}

// FuzzBlockEditor: for any file without our markers and any block content,
// insert keeps the user's text as a prefix, and remove gives it back exactly;
// a file with markers is either edited in place or refused unchanged.
func FuzzBlockEditor(f *testing.F) {
	f.Add("*filter\nCOMMIT\n", "-A DOCKER-USER -j RETURN")
	f.Add("no newline", "")
	f.Add("", "x\ny")
	f.Add(block, "z")
	f.Add("a\n"+rules.MarkerBegin+"\n", "z")
	f.Add("\r\n"+rules.MarkerEnd, "z")
	f.Fuzz(func(t *testing.T, orig, body string) {
		b := rules.MarkerBegin + "\n" + strings.ReplaceAll(body, "# ", "") + "\n" + rules.MarkerEnd + "\n"
		if strings.Contains(body, rules.MarkerBegin[2:]) || strings.Contains(body, rules.MarkerEnd[2:]) {
			return
		}
		has, err := Has(orig)
		with, ierr := Insert(orig, b)
		if err != nil {
			if ierr == nil {
				t.Fatalf("damaged file %q accepted", orig)
			}
			return
		}
		if ierr != nil {
			t.Fatalf("insert into %q: %v", orig, ierr)
		}
		back, err := Remove(with)
		if err != nil {
			t.Fatalf("remove after insert: %v", err)
		}
		if !has && back != orig {
			t.Fatalf("round trip changed %q into %q", orig, back)
		}
		if has {
			want, _ := Remove(orig)
			if back != want {
				t.Fatalf("replace then remove: %q, want %q", back, want)
			}
		}
	})
}

// An edit between the markers shows through the block's checksum, with the
// block's lines; a block from before the checksum line is not judged.
func TestEditedBlock(t *testing.T) {
	rendered := plan.Block(plan.File(rules.IPv4, nil, plan.UFW, false, nil), rules.IPv4, "/etc/ufw-docker-bridge/rules")
	content := "# mine\n*filter\nCOMMIT\n" + rendered + "# after\n"
	if first, last, edited := Edited(content); edited || first != 4 || last != 3+strings.Count(rendered, "\n") {
		t.Fatalf("a rendered block: lines %d-%d, edited %v", first, last, edited)
	}
	handEdited := strings.Replace(content, "-j DROP\n", "-j ACCEPT\n", 1)
	if _, _, edited := Edited(handEdited); !edited {
		t.Error("a DROP made ACCEPT by hand is not seen")
	}
	var legacy []string
	for _, l := range strings.Split(handEdited, "\n") {
		if !strings.HasPrefix(l, rules.BlockSumPrefix) {
			legacy = append(legacy, l)
		}
	}
	if _, _, edited := Edited(strings.Join(legacy, "\n")); edited {
		t.Error("a block without the checksum line is judged")
	}
}
