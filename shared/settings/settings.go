// Package settings is a user's IDE settings (theme, font size, tab size):
// the type, its defaults and the strict decoding every server applies to a
// PUT of the whole object. sessiond keeps them in a JSON file (the desktop's
// config dir), the cloud in PostgreSQL; both speak this package.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Theme is the IDE's colour theme.
type Theme string

// The themes the IDE draws.
const (
	Dark         Theme = "dark"
	Light        Theme = "light"
	HighContrast Theme = "high-contrast"
)

// Themes lists every theme, default first.
var Themes = []Theme{Dark, Light, HighContrast}

// Bounds of the numeric settings, inclusive.
const (
	MinFontSize = 8
	MaxFontSize = 32
	MinTabSize  = 1
	MaxTabSize  = 8
)

// MaxBytes bounds an encoded Settings: a request body beyond it is refused
// before it is decoded.
const MaxBytes = 4 << 10

// Settings is what GET api/v1/settings answers and PUT takes, whole.
type Settings struct {
	Theme    Theme `json:"theme"`
	FontSize int   `json:"fontSize"`
	TabSize  int   `json:"tabSize"`
}

// Defaults are the settings of a user who saved none.
func Defaults() Settings {
	return Settings{Theme: Dark, FontSize: 13, TabSize: 4}
}

// fields are the JSON names, in the order messages list them.
var fields = []string{"theme", "fontSize", "tabSize"}

// ErrTooLarge is returned for an encoding longer than MaxBytes.
var ErrTooLarge = fmt.Errorf("settings are larger than %d bytes", MaxBytes)

// Validate says what is wrong with s, naming the field and what it may be.
func (s Settings) Validate() error {
	var errs []error
	if !slices.Contains(Themes, s.Theme) {
		errs = append(errs, fmt.Errorf("theme %q is not one of %s", s.Theme, themeList()))
	}
	if s.FontSize < MinFontSize || s.FontSize > MaxFontSize {
		errs = append(errs, fmt.Errorf("fontSize %d is not between %d and %d", s.FontSize, MinFontSize, MaxFontSize))
	}
	if s.TabSize < MinTabSize || s.TabSize > MaxTabSize {
		errs = append(errs, fmt.Errorf("tabSize %d is not between %d and %d", s.TabSize, MinTabSize, MaxTabSize))
	}
	return errors.Join(errs...)
}

func themeList() string {
	q := make([]string, len(Themes))
	for i, t := range Themes {
		q[i] = fmt.Sprintf("%q", t)
	}
	return strings.Join(q, ", ")
}

// Parse decodes a PUT body strictly: one JSON object holding every field
// and nothing else, each valid. Its errors are sentences for the user
// (ErrTooLarge for an oversized body).
func Parse(b []byte) (Settings, error) {
	if len(b) > MaxBytes {
		return Settings{}, ErrTooLarge
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Settings{}, errors.New(`settings must be one JSON object: {"theme": "dark", "fontSize": 13, "tabSize": 4}`)
	}
	var errs []error
	for k := range raw {
		if !slices.Contains(fields, k) {
			errs = append(errs, fmt.Errorf("unknown setting %q (known: %s)", k, strings.Join(fields, ", ")))
		}
	}
	for _, k := range fields {
		if _, ok := raw[k]; !ok {
			errs = append(errs, fmt.Errorf("setting %q is missing (send the whole object)", k))
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return Settings{}, errors.Join(errs...)
	}
	var s Settings
	if err := json.Unmarshal(raw["theme"], &s.Theme); err != nil {
		errs = append(errs, fmt.Errorf("theme must be a string, one of %s", themeList()))
	}
	if err := json.Unmarshal(raw["fontSize"], &s.FontSize); err != nil {
		errs = append(errs, fmt.Errorf("fontSize must be a whole number between %d and %d", MinFontSize, MaxFontSize))
	}
	if err := json.Unmarshal(raw["tabSize"], &s.TabSize); err != nil {
		errs = append(errs, fmt.Errorf("tabSize must be a whole number between %d and %d", MinTabSize, MaxTabSize))
	}
	if len(errs) > 0 {
		return Settings{}, errors.Join(errs...)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Read is Parse on at most MaxBytes+1 bytes of r.
func Read(r io.Reader) (Settings, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	return Parse(b)
}

// FromStored decodes settings saved earlier (a file, a database row)
// leniently, so that a file from another version never locks a user out:
// unknown fields are ignored and a missing or invalid field takes its
// default. err reports what was dropped; s is usable either way.
func FromStored(b []byte) (s Settings, err error) {
	s = Defaults()
	if len(bytes.TrimSpace(b)) == 0 {
		return s, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return s, fmt.Errorf("stored settings are not a JSON object (defaults used): %w", err)
	}
	d := Defaults()
	var errs []error
	take := func(name string, v any, ok func() bool, reset func()) {
		m, present := raw[name]
		if !present {
			return
		}
		if json.Unmarshal(m, v) != nil || !ok() {
			reset()
			errs = append(errs, fmt.Errorf("stored %s %s is not valid (default used)", name, m))
		}
	}
	take("theme", &s.Theme, func() bool { return slices.Contains(Themes, s.Theme) }, func() { s.Theme = d.Theme })
	take("fontSize", &s.FontSize, func() bool { return s.FontSize >= MinFontSize && s.FontSize <= MaxFontSize }, func() { s.FontSize = d.FontSize })
	take("tabSize", &s.TabSize, func() bool { return s.TabSize >= MinTabSize && s.TabSize <= MaxTabSize }, func() { s.TabSize = d.TabSize })
	return s, errors.Join(errs...)
}
