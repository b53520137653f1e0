package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// expandLongOptions rewrites, in a command's arguments, each long option given
// by an unambiguous prefix of its name into its full name, as tcpdump's
// getopt_long takes them (--numb for --number, --time-stamp-p=nano): pflag
// takes whole names only. Short option groups are read as getopt reads them
// so that an option's value is never taken for an option (-F --x.bpf). An
// ambiguous prefix is refused as getopt refuses it; an unknown name is left
// for pflag to report.
func expandLongOptions(fs *pflag.FlagSet, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		switch {
		case a == "--":
			return append(out, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			if f == nil {
				var err error
				if f, err = longPrefix(fs, name); err != nil {
					return nil, err
				}
				if f == nil {
					continue
				}
				out[len(out)-1] = "--" + f.Name
				if hasValue {
					out[len(out)-1] += "=" + value
				}
			}
			if f.NoOptDefVal == "" && !hasValue && i+1 < len(args) {
				i++ // the option's value, whatever it looks like
				out = append(out, args[i])
			}
		case len(a) > 1 && a[0] == '-':
			// -abc: letters until one that takes a value, which takes the rest
			// of the group or, when none is left, the next argument.
			for j := 1; j < len(a); j++ {
				f := fs.ShorthandLookup(a[j : j+1])
				if f == nil {
					break
				}
				if f.NoOptDefVal == "" {
					if j == len(a)-1 && i+1 < len(args) {
						i++
						out = append(out, args[i])
					}
					break
				}
			}
		}
	}
	return out, nil
}

// longPrefix returns the one flag whose name starts with prefix, nil when
// none does, an error when several do.
func longPrefix(fs *pflag.FlagSet, prefix string) (*pflag.Flag, error) {
	if prefix == "" {
		return nil, nil
	}
	var found []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, prefix) {
			found = append(found, f)
		}
	})
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = "'--" + f.Name + "'"
	}
	return nil, usageErrorf("option '--%s' is ambiguous; possibilities: %s", prefix, strings.Join(names, " "))
}

// expandArgs applies expandLongOptions to the arguments of the subcommand
// args name (pcaptk SUBCOMMAND ARGS...).
func expandArgs(root *cobra.Command, args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	for _, c := range root.Commands() {
		if c.Name() != args[0] {
			continue
		}
		c.InitDefaultHelpFlag()
		rest, err := expandLongOptions(c.Flags(), args[1:])
		if err != nil {
			return nil, err
		}
		return append([]string{args[0]}, rest...), nil
	}
	return args, nil
}
