package capture

import "errors"

// Kind classifies an error by what the caller can do about it; the HTTP layer maps each kind to
// a status code, and the message is shown to the caller as written.
type Kind int

const (
	Invalid     Kind = iota + 1 // the request is wrong: fix it and send it again
	Forbidden                   // the caller may not do this
	NotFound                    // the thing does not exist
	Conflict                    // the thing is not in a state that allows this, now
	Unavailable                 // a service the answer depends on failed: try again later
)

// Error is a failure whose message is fit to show to the caller.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// KindOf returns the kind of the first *Error in err's chain, or 0 if there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func newError(k Kind, msg string) *Error { return &Error{Kind: k, Message: msg} }

// Errors with the messages of the public MyCRT Captures API; those the contract names are
// written exactly as it has them.
var (
	ErrNameTaken            = newError(Invalid, "Capture with the same name already exists in this environment")
	ErrDurationTooShort     = newError(Invalid, "Duration must be at least 60 seconds")
	ErrDurationTooLong      = newError(Invalid, "Duration must be at most 31 days")
	ErrScheduleWithoutStart = newError(Invalid, "Cannot schedule without a schedule start time")
	ErrScheduleInPast       = newError(Invalid, "Scheduled start must be in the future")
	ErrNameRequired         = newError(Invalid, "Name is required")
	ErrNameInvalid          = newError(Invalid, "Name must be "+NameRule)
	ErrEnvIDRequired        = newError(Invalid, "envId must be a positive integer")
	ErrStatusInvalid        = newError(Invalid, "Status must be 'SCHEDULED', 'STARTED', or 'STARTING'")

	ErrCaptureNotFound     = newError(NotFound, "Capture not found")
	ErrCaptureEnvNotFound  = newError(NotFound, "Capture's environment not found")
	ErrNoWorkload          = newError(NotFound, "The capture has no workload yet: it is written when the capture stops")
	ErrFailedNoWorkload    = newError(NotFound, "The capture failed, so it has no workload (its reason says why)")
	ErrCancelledNoWorkload = newError(NotFound, "The capture was cancelled before it started, so it has no workload")
	ErrEnvRecording        = newError(Conflict, "The environment has captures recording: stop them before deleting it")
	ErrEnvRestoring        = newError(Conflict, "The environment's database still has its general log settings to restore (see generalLog): delete it once they are restored")
	ErrEnvNotFound         = newError(NotFound, "Environment does not exist")

	ErrNotStartedYet  = newError(Conflict, "Cannot stop a capture until it has started completely. Try again soon.")
	ErrAlreadyStopped = newError(Conflict, "This capture has already been stopped")
	ErrCaptureFailed  = newError(Conflict, "This capture failed and is no longer running")
	// ErrBadTransition is a move the transition table forbids.
	ErrBadTransition = newError(Conflict, "The capture is not in a state that allows this")
	// ErrChanged is a conditional write that lost to a concurrent one; callers read the capture
	// again and decide anew.
	ErrChanged = newError(Conflict, "The capture changed while this request ran. Try again.")

	ErrNotMember   = newError(Forbidden, "You are not a member of this environment")
	ErrNotOwner    = newError(Forbidden, "Only the capture's owner or an environment admin can change it")
	ErrNotAdmin    = newError(Forbidden, "Only an admin of this environment can do this")
	ErrLastAdmin   = newError(Conflict, "The last admin of an environment cannot leave it")
	ErrMemberTaken = newError(Conflict, "User is already a member of this environment")
	ErrNoMember    = newError(NotFound, "User is not a member of this environment")
)
