//go:build !linux

package nft

import "errors"

// ListTables fails: nftables is a Linux feature.
func ListTables() ([]string, error) { return nil, errors.New("nftables exists only on linux") }
