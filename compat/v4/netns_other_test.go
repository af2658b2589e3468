//go:build !linux

package v4_test

import (
	"errors"
	"syscall"
)

// netnsAttr is nil where network namespaces do not exist: the example
// programs then run on the machine's loopback ports 9094 and 9096.
func netnsAttr() *syscall.SysProcAttr { return nil }

func childAttr() *syscall.SysProcAttr { return nil }

func loopbackUp() error { return errors.New("no network namespaces on this system") }
