package watch

import (
	"context"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Files fires when a file in one of the directories changes: the state
// directory (rules edited by hand) and UFW's (its files rewritten), and the
// guest managers' DHCP lease directories (a guest's address changed).
type Files struct {
	Dirs []string
	// Again, when not zero, fires once more that long after an event: a
	// guest configures the address its lease gave it a moment after the
	// lease is written, and its manager reports it only then.
	Again time.Duration
}

// Name is "files".
func (Files) Name() string { return "files" }

// Run watches the directories until ctx ends.
func (f Files) Run(ctx context.Context, trigger func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("starting file watcher: %w", err)
	}
	defer w.Close()
	for _, d := range f.Dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watching %s: %w", d, err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
				trigger()
				if f.Again > 0 {
					time.AfterFunc(f.Again, trigger)
				}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			return fmt.Errorf("file watcher: %w", err)
		}
	}
}
