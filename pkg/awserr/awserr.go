// Package awserr keeps the text of AWS's errors, which names ARNs, account ids, roles and
// request ids, out of what users see (API responses, a capture's reason, a lease's last
// error), while logs keep all of it.
//
// A leaf package that calls AWS wraps each failure with Wrap: its message then says which call
// failed and AWS's error code (AccessDenied, DBParameterGroupNotFound, ...), nothing more.
// Detail recovers the whole original text for a log line.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Error is an AWS call that failed.
type Error struct {
	Op   string // what was being done, in the caller's words
	Code string // AWS's error code, or what went wrong when AWS gave none
	Err  error  // the SDK's error, with all of AWS's text
}

func (e *Error) Error() string { return fmt.Sprintf("%s: AWS answered %s", e.Op, e.Code) }

// Unwrap gives the SDK's error, so errors.Is and errors.As still see through.
func (e *Error) Unwrap() error { return e.Err }

// Wrap describes err, from the AWS call op, by its code only; nil stays nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	code := "an error without a code"
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() != "":
		code = api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		code = "nothing in time"
	case errors.Is(err, context.Canceled):
		code = "nothing: the request was cancelled"
	}
	return &Error{Op: op, Code: code, Err: err}
}

// Detail is err's whole text with every AWS error in it spelled out, for logs only.
func Detail(err error) string {
	if err == nil {
		return ""
	}
	var parts []string
	for e := err; e != nil; {
		var a *Error
		if !errors.As(e, &a) {
			break
		}
		parts = append(parts, a.Op+": "+a.Err.Error())
		e = a.Err
	}
	if len(parts) == 0 {
		return err.Error()
	}
	return err.Error() + " (" + strings.Join(parts, "; ") + ")"
}
