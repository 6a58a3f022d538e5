// Package templates holds the text templates that render what this project
// writes into other programs' files, embedded into the binary.
package templates

import "embed"

// FS holds every *.tmpl of this directory.
//
//go:embed *.tmpl
var FS embed.FS
