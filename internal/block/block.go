// Package block edits our managed block in a rules file (UFW's after.rules,
// or a file of our own): it finds, inserts, replaces and removes the text
// between our markers, checks its checksum, and leaves every byte outside
// the markers as it was.
package block

import (
	"fmt"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// span is the place of our block in a file: byte offsets of the start of the
// BEGIN line and of the end of the END line (after its newline, if any).
type span struct {
	start, end   int
	addedNewline bool
}

// findBlock locates the managed block. It refuses a file whose markers are
// damaged, duplicated or out of order: such a file is left untouched.
func findBlock(content string) (span, bool, error) {
	var s span
	begins, ends := 0, 0
	off := 0
	for n, line := range strings.SplitAfter(content, "\n") {
		text := strings.TrimRight(line, "\n")
		trimmed := strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(trimmed, rules.MarkerBegin):
			if text != rules.MarkerBegin && text != rules.MarkerBegin+rules.MarkerAddedNewline {
				return span{}, false, fmt.Errorf("line %d: damaged marker %q", n+1, text)
			}
			begins++
			if begins > 1 {
				return span{}, false, fmt.Errorf("line %d: duplicated marker %q", n+1, rules.MarkerBegin)
			}
			s.start, s.addedNewline = off, text != rules.MarkerBegin
		case strings.HasPrefix(trimmed, rules.MarkerEnd):
			if text != rules.MarkerEnd {
				return span{}, false, fmt.Errorf("line %d: damaged marker %q", n+1, text)
			}
			ends++
			if ends > 1 {
				return span{}, false, fmt.Errorf("line %d: duplicated marker %q", n+1, rules.MarkerEnd)
			}
			if begins == 0 {
				return span{}, false, fmt.Errorf("line %d: %q before %q", n+1, rules.MarkerEnd, rules.MarkerBegin)
			}
			s.end = off + len(line)
		}
		off += len(line)
	}
	if begins != ends {
		return span{}, false, fmt.Errorf("marker %q without %q", rules.MarkerBegin, rules.MarkerEnd)
	}
	return s, begins == 1, nil
}

// Edited reports whether our block in content was edited by hand: its
// lines after the checksum line no longer have that checksum
// (rules.BlockSumPrefix). It returns the block's first and last line
// numbers. A block without the line (rendered before it) is not judged.
func Edited(content string) (first, last int, edited bool) {
	s, ok, err := findBlock(content)
	if err != nil || !ok {
		return 0, 0, false
	}
	block := content[s.start:s.end]
	first = strings.Count(content[:s.start], "\n") + 1
	last = first + strings.Count(strings.TrimSuffix(block, "\n"), "\n")
	i := strings.Index(block, "\n"+rules.BlockSumPrefix)
	if i < 0 {
		return first, last, false
	}
	sumLine, rest, _ := strings.Cut(block[i+1:], "\n")
	body, _, found := strings.Cut(rest, rules.MarkerEnd)
	if !found {
		return first, last, true
	}
	return first, last, strings.TrimPrefix(sumLine, rules.BlockSumPrefix) != plan.BlockSum(body)
}

// Has reports whether content holds our block; damaged markers are an error.
func Has(content string) (bool, error) {
	_, ok, err := findBlock(content)
	return ok, err
}

// sourcePrefix starts the line of our block that names the rules file it
// was rendered from (templates/block.tmpl).
const sourcePrefix = "# Managed by ufw-docker-bridge: rendered from "

// Source returns the rules file that content's block was rendered
// from, "" when content has no block or the block does not say.
func Source(content string) string {
	s, ok, err := findBlock(content)
	if err != nil || !ok {
		return ""
	}
	for _, line := range strings.Split(content[s.start:s.end], "\n") {
		if rest, ok := strings.CutPrefix(line, sourcePrefix); ok {
			if i := strings.LastIndex(rest, " for "); i > 0 {
				return rest[:i]
			}
		}
	}
	return ""
}

// Insert returns content with block (from its BEGIN line to its END
// line and newline) in place of our old block, or appended at the end when
// there is none. Every byte outside the block stays as it was.
func Insert(content, block string) (string, error) {
	if !strings.HasPrefix(block, rules.MarkerBegin+"\n") || !strings.HasSuffix(block, rules.MarkerEnd+"\n") {
		return "", fmt.Errorf("block must run from %q to %q", rules.MarkerBegin, rules.MarkerEnd)
	}
	s, ok, err := findBlock(content)
	if err != nil {
		return "", err
	}
	if ok {
		return content[:s.start] + flagged(block, s.addedNewline) + content[s.end:], nil
	}
	if content == "" || strings.HasSuffix(content, "\n") {
		return content + block, nil
	}
	return content + "\n" + flagged(block, true), nil
}

// Remove returns content without our block, and without the newline the
// block's insertion added (unless text was written after the block since):
// the exact text the file had before Insert.
func Remove(content string) (string, error) {
	s, ok, err := findBlock(content)
	if err != nil || !ok {
		return content, err
	}
	start := s.start
	if s.addedNewline && s.end == len(content) && start > 0 && content[start-1] == '\n' {
		start--
	}
	return content[:start] + content[s.end:], nil
}

func flagged(block string, addedNewline bool) string {
	if !addedNewline {
		return block
	}
	return rules.MarkerBegin + rules.MarkerAddedNewline + block[len(rules.MarkerBegin):]
}
