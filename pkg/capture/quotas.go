package capture

import "fmt"

// Quotas bound what one user can make the service hold: the table, the scheduler's ticks and
// a database's collections grow with environments and live captures, and without a bound a
// script (or a mistake) could grow them without end.
type Quotas struct {
	// Environments is how many environments one user may have created and not deleted.
	Environments int
	// LiveCaptures is how many captures one environment may have scheduled or under way
	// (Status.Live): ended ones do not count.
	LiveCaptures int
}

// DefaultQuotas are the service's quotas.
var DefaultQuotas = Quotas{Environments: 50, LiveCaptures: 1000}

// TooManyEnvironments is the error of an environment its creator has no room for.
func (q Quotas) TooManyEnvironments() error {
	return &Error{Kind: Conflict, Message: fmt.Sprintf(
		"You have created %d environments, the most one user may have: delete one before creating another", q.Environments)}
}

// TooManyCaptures is the error of a capture its environment has no room for.
func (q Quotas) TooManyCaptures() error {
	return &Error{Kind: Conflict, Message: fmt.Sprintf(
		"The environment has %d captures scheduled or under way, the most it may have: stop or delete one before creating another", q.LiveCaptures)}
}
