package multiprocess

import "syscall"

// procAttr makes the kernel kill a server process if the test binary dies
// before its cleanup could stop it, so that no server outlives the tests.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
