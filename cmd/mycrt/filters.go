package main

import (
	"github.com/spf13/pflag"

	"github.com/mycrt/captures/pkg/client"
)

// filterFlags adds --user, --exclude-user, --db and --exclude-db (each repeated or
// comma-separated) to f, for a command whose body takes the API's filters; what it returns
// gives the filters those flags name once they are parsed, nil when none was given (the API
// then keeps every row).
func filterFlags(f *pflag.FlagSet, what string) func() *client.Filters {
	var users, notUsers, dbs, notDBs []string
	f.StringSliceVar(&users, "user", nil, "only "+what+" of these accounts (the session's user)")
	f.StringSliceVar(&notUsers, "exclude-user", nil, "never "+what+" of these accounts")
	f.StringSliceVar(&dbs, "db", nil, "only "+what+" in these databases (the session's)")
	f.StringSliceVar(&notDBs, "exclude-db", nil, "never "+what+" in these databases")
	return func() *client.Filters {
		u, d := nameFilter(users, notUsers), nameFilter(dbs, notDBs)
		if u == nil && d == nil {
			return nil
		}
		return &client.Filters{Users: u, Databases: d}
	}
}

// nameFilter is the API's filter of names, nil when it names none.
func nameFilter(include, exclude []string) *client.NameFilter {
	if len(include) == 0 && len(exclude) == 0 {
		return nil
	}
	var nf client.NameFilter
	if len(include) > 0 {
		nf.Include = &include
	}
	if len(exclude) > 0 {
		nf.Exclude = &exclude
	}
	return &nf
}
