package plan

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// applyEdit applies an Edit input to live with the save model, as
// iptables-restore --noflush would.
func applyEdit(t *testing.T, live *rules.Table, input string) *rules.Table {
	t.Helper()
	body := strings.TrimSuffix(strings.TrimPrefix(input, "*filter\n"), "COMMIT\n")
	d, err := rules.ParseSave(strings.TrimSuffix(live.String(), "COMMIT\n") + body + "COMMIT\n")
	if err != nil {
		t.Fatalf("edit does not apply: %v\n%s", err, input)
	}
	return d.Table("filter")
}

func chainOf(name string, rs ...string) *rules.Table {
	return &rules.Table{Name: "filter", Chains: []*rules.Chain{{Name: name, Policy: "-", Declared: true, Rules: rs}}}
}

func TestEditTurnsLiveIntoWant(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	// A small alphabet, so that chains hold duplicates and shared runs.
	randomRules := func() []string {
		out := make([]string, rnd.Intn(8))
		for i := range out {
			out[i] = fmt.Sprintf("-p tcp -m conntrack --ctorigdstport %d -j RETURN", rnd.Intn(4))
		}
		return out
	}
	for i := 0; i < 2000; i++ {
		live, want := chainOf("c", randomRules()...), chainOf("c", randomRules()...)
		input, ok := Edit(want, live, "c")
		if !ok {
			t.Fatal("Edit refused two chains that exist")
		}
		got := applyEdit(t, live, input).Chain("c").Rules
		if strings.Join(got, "\n") != strings.Join(want.Chain("c").Rules, "\n") {
			t.Fatalf("live %q + edit\n%s= %q, want %q", live.Chain("c").Rules, input, got, want.Chain("c").Rules)
		}
	}
}

func TestEditIsSmallForOneAllow(t *testing.T) {
	rs := manyRules(1000)
	in := Input{Family: rules.IPv4, Rules: rs}
	live := Filter(in)
	r, _ := rules.Parse([]string{"allow", "8080"})
	in.Rules = append(append(rules.Ruleset{}, rs[:500]...), append(rules.Ruleset{r}, rs[500:]...)...)
	input, ok := Edit(Filter(in), live, rules.ChainUser, rules.ChainForward)
	if !ok || strings.Count(input, "\n") != 4 || strings.Count(input, "-I "+rules.ChainForward) != 2 {
		t.Errorf("allow 8080 into 1,000 rules: want two inserts, got\n%s", input)
	}
	if input, ok := Edit(live, live, rules.ChainUser, rules.ChainForward); !ok || input != "" {
		t.Errorf("equal chains: got %q, %v", input, ok)
	}
	if _, ok := Edit(live, chainOf(rules.ChainUser), rules.ChainUser, rules.ChainForward); ok {
		t.Error("a chain missing live must need a full restore")
	}
}

func TestEditGivesWayToARefillWhenLarge(t *testing.T) {
	live := Filter(Input{Family: rules.IPv4})
	want := Filter(Input{Family: rules.IPv4, Rules: manyRules(MaxEditLines / 2)})
	if _, ok := Edit(want, live, rules.ChainUser, rules.ChainForward); !ok {
		t.Errorf("%d inserts refused", MaxEditLines/2)
	}
	want = Filter(Input{Family: rules.IPv4, Rules: manyRules(MaxEditLines + 1)})
	if _, ok := Edit(want, live, rules.ChainUser, rules.ChainForward); ok {
		t.Errorf("%d inserts accepted: a refill is cheaper", MaxEditLines+1)
	}
}
