package capture

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// Account is the user -Z switches to (LookupAccount finds it).
type Account struct {
	name     string
	uid, gid int
}

// LookupAccount finds the user named name, for Options.User.
func LookupAccount(name string) (*Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("-Z: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("-Z %s: non-numeric uid or gid", name)
	}
	return &Account{name: name, uid: uid, gid: gid}, nil
}

// Become drops root for good, as -Z does once the interfaces (or, for pcaptk
// read, the first input) are open.
func (a *Account) Become() error { return a.become() }

// become drops root for good: supplementary groups, then group, then user (Go applies
// these to every thread of the process).
func (a *Account) become() error {
	if err := syscall.Setgroups([]int{a.gid}); err != nil {
		return fmt.Errorf("-Z %s: setgroups: %w", a.name, err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("-Z %s: setgid: %w", a.name, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("-Z %s: setuid: %w", a.name, err)
	}
	return nil
}
