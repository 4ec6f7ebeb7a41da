//go:build !linux

package cache

import (
	"errors"
	"fmt"
)

// freeDisk is only implemented on Linux, where players run; elsewhere it
// reports errors.ErrUnsupported and the free-space check before downloads
// is skipped.
func freeDisk(dir string) (int64, error) {
	return 0, fmt.Errorf("free disk space of %s: %w", dir, errors.ErrUnsupported)
}
