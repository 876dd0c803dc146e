// Package apierr defines the one JSON error shape every Gatewave HTTP API
// answers with: {"error":{"code":"...","message":"..."}}.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error with an HTTP status, a stable machine-readable code
// and a human-readable message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details carries optional structured context (for example the list of
	// configured languages on an unknown-language 404).
	Details any `json:"details,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Body is the JSON document written for an Error.
type Body struct {
	Error *Error `json:"error"`
}

// New returns an Error with the given status, code and message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common constructors. Codes are snake_case and stable; clients switch on them.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "bad_request", format, args...)
}
func Unauthorized(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, "unauthorized", format, args...)
}
func Forbidden(format string, args ...any) *Error {
	return New(http.StatusForbidden, "forbidden", format, args...)
}
func NotFound(format string, args ...any) *Error {
	return New(http.StatusNotFound, "not_found", format, args...)
}
func Conflict(format string, args ...any) *Error {
	return New(http.StatusConflict, "conflict", format, args...)
}
func PreconditionFailed(format string, args ...any) *Error {
	return New(http.StatusPreconditionFailed, "precondition_failed", format, args...)
}
func Internal(format string, args ...any) *Error {
	return New(http.StatusInternalServerError, "internal", format, args...)
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(d any) *Error {
	c := *e
	c.Details = d
	return &c
}

// From converts any error to an *Error: an *Error anywhere in the chain is
// returned as is, anything else becomes a 500 whose message is err's text.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("%v", err)
}
