//go:build !linux

package nft

import (
	"errors"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ListTables fails: nftables is a Linux feature.
func ListTables() ([]string, error) { return nil, errors.New("nftables exists only on linux") }

// AllTables fails: nftables is a Linux feature.
func AllTables() ([]string, error) { return nil, errors.New("nftables exists only on linux") }

// DockerNFT fails: nftables is a Linux feature.
func DockerNFT() (map[rules.Family]bool, error) {
	return nil, errors.New("nftables exists only on linux")
}

// DockerNFTChains fails: nftables is a Linux feature.
func DockerNFTChains() ([]string, error) { return nil, errors.New("nftables exists only on linux") }
