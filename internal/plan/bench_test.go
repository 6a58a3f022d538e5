package plan

import (
	"fmt"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func manyRules(n int) rules.Ruleset {
	rs := make(rules.Ruleset, 0, n)
	for i := 0; i < n; i++ {
		r, err := rules.Parse([]string{"allow", fmt.Sprint(1+i%60000) + "/tcp", "from", fmt.Sprintf("10.%d.%d.0/24", i/256%256, i%256)})
		if err != nil {
			panic(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// BenchmarkFilter10k plans 10,000 allow rules and renders them for restore.
func BenchmarkFilter10k(b *testing.B) {
	rs := manyRules(10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = Filter(Input{Family: rules.IPv4, Rules: rs}).String()
	}
}

// BenchmarkParseSave10k parses a 10,000-rule iptables-save text.
func BenchmarkParseSave10k(b *testing.B) {
	text := Filter(Input{Family: rules.IPv4, Rules: manyRules(10000)}).String()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rules.ParseSave(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEdit10k computes the in-place edit that adds one allow rule to a
// live chain of 10,000.
func BenchmarkEdit10k(b *testing.B) {
	rs := manyRules(10000)
	live := Filter(Input{Family: rules.IPv4, Rules: rs})
	r, _ := rules.Parse([]string{"allow", "8080/tcp"})
	want := Filter(Input{Family: rules.IPv4, Rules: append(rs[:5000:5000], append(rules.Ruleset{r}, rs[5000:]...)...)})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := Edit(want, live, rules.ChainUser, rules.ChainForward); !ok {
			b.Fatal("no edit")
		}
	}
}
