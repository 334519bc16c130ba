package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Error is one problem in a configuration file, at a position in it.
// Load and Parse return every problem at once, joined with errors.Join;
// Errors takes them apart again.
type Error struct {
	File   string
	Line   int // 1-based
	Column int // 1-based
	Msg    string
}

func (e *Error) Error() string {
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": " + e.Msg
}

// Errors returns the problems in an error returned by Load or Parse, in
// file order. An error that is not a configuration problem (the file could
// not be read) gives nil.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// errorList collects the problems found while loading.
type errorList struct {
	file string
	errs []*Error
}

func (l *errorList) add(line, col int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// err sorts the problems by position, drops repeats (a value reached
// through several aliases is checked once per use) and joins them.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		// The configuration file first, then the reservations file.
		return cmp.Or(compareBool(a.File != l.file, b.File != l.file), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	out := make([]error, 0, len(l.errs))
	var last *Error
	for _, e := range l.errs {
		if last != nil && *last == *e {
			continue
		}
		out = append(out, e)
		last = e
	}
	return errors.Join(out...)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}
