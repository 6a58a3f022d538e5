package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// each runs fn for every item at once (one per family: the iptables
// processes of IPv4 and IPv6 are independent) and returns the errors by
// index.
func each[T any](items []T, fn func(T) error) []error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(it)
		}()
	}
	wg.Wait()
	return errs
}

// saveFilters reads the live filter table of every family in fs at once.
func (b *Backend) saveFilters(ctx context.Context, fs []rules.Family) (map[rules.Family]*rules.Table, error) {
	tables := make([]*rules.Table, len(fs))
	errs := each(indexes(len(fs)), func(i int) error {
		t, err := b.Net.Save(ctx, fs[i], "filter")
		if err != nil {
			return fmt.Errorf("reading live %s rules: %w", fs[i], err)
		}
		tables[i] = t
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[rules.Family]*rules.Table, len(fs))
	for i, f := range fs {
		out[f] = tables[i]
	}
	return out, nil
}

// tables returns the tables of lives in family order.
func tables(lives map[rules.Family]*rules.Table) []*rules.Table {
	var out []*rules.Table
	for _, f := range rules.Families {
		out = append(out, lives[f])
	}
	return out
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
