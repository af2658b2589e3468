//go:build !linux

package multiprocess

import "syscall"

// procAttr has no parent-death signal outside Linux: the tests' cleanup
// stops every process.
func procAttr() *syscall.SysProcAttr { return nil }
